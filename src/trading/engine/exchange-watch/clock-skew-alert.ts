/**
 * The operator hears of a host clock off the exchange's (measured by the adapter at start, hourly, or after the
 * exchange refused a request's timestamp, exchange/clock-skew.ts): one `clock.skew` event, and another only when a later measurement
 * differs by a second or more (the clock keeps drifting). Requests are already corrected; the host's time sync
 * (NTP) is what needs fixing.
 */
import type { Exchange } from '../../exchange/exchange';
import type { EventOutbox } from '../state/event-outbox';

/**
 * Whether a measured offset is news to the operator: a second or more from the one told, or from none when none was
 * told. Under a second with none told, the refusal was not the clock (an OKX create past its 5 s expTime after a
 * slow transit measures too; Binance and Bybit refuse only from 1 s ahead): nothing to fix.
 */
export function skewNews(offsetMs: number, toldOffsetMs: number | undefined): boolean {
  return Math.abs(offsetMs - (toldOffsetMs ?? 0)) >= 1_000;
}

export function alertClockSkew(exchange: Exchange, outbox: EventOutbox): void {
  let toldOffsetMs: number | undefined;
  exchange.onClockSkew?.(({ offsetMs, refusal }) => {
    if (!skewNews(offsetMs, toldOffsetMs)) return;
    toldOffsetMs = offsetMs;
    const how = `${Math.abs(offsetMs)} ms ${offsetMs >= 0 ? 'ahead of' : 'behind'}`;
    const told =
      refusal === undefined ? 'read from its server time' : `it refused a request's timestamp (${refusal})`;
    void outbox.emit(
      'clock.skew',
      `Host clock ${how} ${exchange.id}'s: ${told}; requests are signed and its times read on the exchange's time — fix the host's time sync (NTP)`,
      refusal === undefined
        ? { exchange: exchange.id, offsetMs }
        : { exchange: exchange.id, offsetMs, refusal },
    );
  });
}
