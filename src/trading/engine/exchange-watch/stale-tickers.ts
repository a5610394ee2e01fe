/**
 * Traded symbols whose ticker the exchange serves stale (ticker-age.ts): the operator hears once when a symbol's
 * prices go stale (`market.stale`) and once when they are fresh again (`market.fresh`), never once per tick. What was
 * told is kept in the trading state (`announcedStale`), committed with its event as the halts are (market-halts.ts
 * `commitAnnouncement`): a crash loop while prices are stale tells it once, and prices fresh at the next start are
 * told then.
 */
import type { Logger } from '../../../shared/logging/logger';
import { commitAnnouncement } from './market-halts';
import type { StateGateway } from '../state/state-gateway';
import { formatSpan } from '../../../shared/format-span';
import type { TickerAge } from './ticker-age';

export interface StaleTickersOptions {
  exchangeId: string;
  /** The trading state: what was announced, committed with its events. */
  state: Pick<StateGateway, 'data' | 'commitWithEvents'>;
  logger: Logger;
  /** How far the host clock is ahead of the exchange's, as measured (ms; 0 where unmeasured): said in the alert. */
  clockOffsetMs: () => number;
}

export class StaleTickers {
  constructor(private readonly opts: StaleTickersOptions) {}

  /** `symbol`'s ticker read at `now` (host clock) was judged `age`: tells the operator when that changed. */
  async seen(symbol: string, age: TickerAge, now: number): Promise<void> {
    const told = this.opts.state.data.announcedStale[symbol];
    const exchange = this.opts.exchangeId;
    if (age.stale) {
      if (told) return;
      const offsetMs = this.opts.clockOffsetMs();
      const data = { symbol, exchange, reason: age.reason, ageMs: age.ageMs, clockOffsetMs: offsetMs };
      this.opts.logger.error('The exchange serves a stale price: no entries on this symbol', data);
      const summary =
        `${symbol} on ${exchange}: ${age.reason} (read on the exchange's clock; host clock ${Math.abs(offsetMs)} ms ` +
        `${offsetMs >= 0 ? 'ahead' : 'behind'}). No entry is placed on it until prices are fresh; stop-loss and ` +
        `exits still go out at market. Check the exchange's status for ${symbol} (a halt, maintenance).`;
      await commitAnnouncement(
        this.opts,
        (d) => {
          d.announcedStale = { ...d.announcedStale, [symbol]: { since: now, reason: age.reason } };
        },
        [{ type: 'market.stale', summary, data }],
      );
      return;
    }
    if (!told) return;
    const staleForMs = Math.max(0, now - told.since);
    const data = { symbol, exchange, staleForMs, ageMs: age.ageMs };
    this.opts.logger.warn('Prices are fresh again: entries are back', data);
    await commitAnnouncement(
      this.opts,
      (d) => {
        const { [symbol]: _gone, ...rest } = d.announcedStale;
        d.announcedStale = rest;
      },
      [
        {
          type: 'market.fresh',
          summary: `${symbol} prices on ${exchange} are fresh again after ${formatSpan(staleForMs)}: entries are back`,
          data,
        },
      ],
    );
  }
}
