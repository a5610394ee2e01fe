/**
 * The loop's heartbeat in the log: once every `heartbeatMs` (default 60 s; the first tick's at once), how trading
 * stands — state, ticks, equity (and the bot's own the risk limits judge, with trading.risk.capital), positions and
 * orders open, unrealized PnL at the last prices, the pause, whether the exchange answers — so `pm2 logs` shows the bot alive without asking it. The line is pure (`heartbeatFields`).
 */
import type { LoopState } from '../../shared/ipc/protocol';
import type { Logger } from '../../shared/logging/logger';
import { pauseSummary } from './operator/pause-causes';
import { unrealizedPnl, type PositionBook } from './books/pnl';
import type { PauseState } from './state/trading-state';

export interface HeartbeatFacts {
  state: LoopState;
  ticks: number;
  equity: number;
  /** The bot's own equity the risk limits judge (trading.risk.capital set); absent: they judge `equity`. */
  riskEquity?: number;
  /** Every position book (flat ones add nothing to the unrealized PnL). */
  positions: readonly PositionBook[];
  lastPrices: Readonly<Record<string, number>>;
  openPositions: number;
  openOrders: number;
  pause: PauseState | null;
  exchangeReachable: boolean;
}

/** The heartbeat line's fields: money to the cent, a position without a price yet valued at 0. */
export function heartbeatFields(f: HeartbeatFacts): Record<string, unknown> {
  let unrealized = 0;
  for (const p of f.positions) unrealized += unrealizedPnl(p, f.lastPrices[p.symbol] ?? 0);
  return {
    state: f.state,
    ticks: f.ticks,
    equity: Number(f.equity.toFixed(2)),
    ...(f.riskEquity !== undefined ? { riskEquity: Number(f.riskEquity.toFixed(2)) } : {}),
    openPositions: f.openPositions,
    openOrders: f.openOrders,
    unrealizedPnl: Number(unrealized.toFixed(2)),
    paused: f.pause ? pauseSummary(f.pause) : undefined,
    exchangeReachable: f.exchangeReachable,
  };
}

export class Heartbeat {
  private lastAt = 0;

  constructor(
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  /** Logs the heartbeat when one is due at `now` (the facts are read only then). */
  beat(now: number, facts: () => HeartbeatFacts): void {
    if (now - this.lastAt < this.everyMs) return;
    this.lastAt = now;
    this.logger.info('Heartbeat', heartbeatFields(facts()));
  }
}
