/**
 * The operator hears of a host clock off the exchange's (the exchange refused a request's timestamp and the adapter
 * measured the offset, exchange/clock-skew.ts): one `clock.skew` event, and another only when a later measurement
 * differs by a second or more (the clock keeps drifting). Requests are already corrected; the host's time sync
 * (NTP) is what needs fixing.
 */
import type { Exchange } from '../exchange/exchange';
import type { EventOutbox } from './event-outbox';

/** Whether a measured offset is news to the operator: none told yet, or a second or more from the one told. */
export function skewNews(offsetMs: number, toldOffsetMs: number | undefined): boolean {
  return toldOffsetMs === undefined || Math.abs(offsetMs - toldOffsetMs) >= 1_000;
}

export function alertClockSkew(exchange: Exchange, outbox: EventOutbox): void {
  let toldOffsetMs: number | undefined;
  exchange.onClockSkew?.(({ offsetMs, refusal }) => {
    if (!skewNews(offsetMs, toldOffsetMs)) return;
    toldOffsetMs = offsetMs;
    const how = `${Math.abs(offsetMs)} ms ${offsetMs >= 0 ? 'ahead of' : 'behind'}`;
    void outbox.emit(
      'clock.skew',
      `Host clock ${how} ${exchange.id}'s: it refused a request's timestamp (${refusal}); requests are now signed on the exchange's time — fix the host's time sync (NTP)`,
      { exchange: exchange.id, offsetMs, refusal },
    );
  });
}
