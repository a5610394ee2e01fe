/**
 * Trading's monitoring endpoints: the prom-client registry (metrics.ts) and the HTTP server of /health and
 * /metrics. A module of its own, imported only when they start (just after `ready`, daemon.ts): prom-client and
 * node's http stack are then not loaded before the service is ready.
 */
import type { Clock } from '../../shared/clock';
import type { TradingConfig } from '../../shared/config/schema';
import { OpsHttpServer } from '../../shared/http/ops-http-server';
import type { LastExit } from '../../shared/ipc/protocol';
import { pm2RestartCount } from '../../shared/lifecycle/pm2-env';
import type { Logger } from '../../shared/logging/logger';
import type { Redactor } from '../../shared/logging/redact';
import { byninjaVersion } from '../../ops/version';
import type { OrderBook } from '../engine/orders/order-book';
import type { TradingLoop } from '../engine/trading-loop';
import { pauseSummary } from '../engine/operator/pause-causes';
import { staleTickMs, tradingHealth } from './health';
import { createTradingMetrics } from './metrics';
import type { ObserveExchangeCall } from './timed-exchange';

export interface TradingOpsDeps {
  config: TradingConfig;
  loop: TradingLoop;
  orderBook: OrderBook;
  exchangeId: string;
  lastExit: LastExit;
  ipcClients: () => number;
  lastEventSeq: () => number;
  logger: Logger;
  redactor: Redactor;
  clock: Clock;
}

export interface TradingOps {
  observeExchangeCall: ObserveExchangeCall;
  close(): Promise<void>;
}

/** Builds the registry and listens (a port that is taken is logged and the service runs on without HTTP). */
export async function startTradingOps(deps: TradingOpsDeps): Promise<TradingOps> {
  const { config, loop, clock } = deps;
  const metrics = createTradingMetrics({
    loop,
    orderBook: deps.orderBook,
    lastExit: deps.lastExit,
    mode: config.trading.mode,
    exchangeId: deps.exchangeId,
    version: byninjaVersion(),
    ipcClients: deps.ipcClients,
    lastEventSeq: deps.lastEventSeq,
    ...pm2RestartCount(),
    clock,
    exchangeClock: loop.exchangeClock,
  });
  const stale = staleTickMs(config.trading.tickIntervalMs, config.trading.symbolReadTimeoutMs);
  const http = new OpsHttpServer({
    service: 'trading',
    host: config.http.host,
    port: config.http.tradingPort,
    portHint: 'set http.tradingPort (BYNINJA__HTTP__TRADING_PORT) to a free port',
    metrics: metrics.registry,
    logger: deps.logger,
    redactor: deps.redactor,
    clock,
    health: () => {
      const snap = loop.snapshot();
      return tradingHealth({
        loopState: snap.loopState,
        exchangeId: deps.exchangeId,
        exchangeReachable: snap.exchangeReachable,
        exchangeError: snap.exchangeError,
        exchangeUnreachableSince: snap.exchangeUnreachableSince,
        exchangeKeyRefused: snap.exchangeKeyRefused,
        exchangeAccountRefused: snap.exchangeAccountRefused,
        lastTickAt: snap.lastTickAt,
        pausedReason: snap.pause ? pauseSummary(snap.pause) : undefined,
        staleTickMs: stale,
        now: clock.now(),
      });
    },
  });
  await http.listen();
  return { observeExchangeCall: metrics.observeExchangeCall, close: () => http.close() };
}
