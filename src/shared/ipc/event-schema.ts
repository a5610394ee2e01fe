/**
 * The full schema of a trading event (one `events.jsonl` line, one `event` notification). A line that fails it
 * is skipped and logged when the log is opened, never replayed half-trusted.
 */
import * as z from 'zod';
import type { TradingEvent, TradingEventType } from './protocol';

/**
 * What a trading event's `type` looks like ("order.placed", "recovery"). Read back — an event log line, an event
 * still in the trading state's outbox — any type of this form is accepted, not only the ones this build makes
 * (TRADING_EVENT_TYPES): a newer build adds types without a state version step, and after a rollback to this build
 * its events are still published and replayed (telegram words a type it does not know under the type itself, and
 * sends it), never the state file quarantined for one (trading then refused to start: exit 78, state BLOCKED) nor
 * the event left out of the replay. The TCP client takes any type too (client-connection.ts isEvent).
 */
export const EVENT_TYPE_FORM = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

/** The event types this build makes (each of EVENT_TYPE_FORM; protocol.ts TradingEventType says what each means). */
export const TRADING_EVENT_TYPES = [
  'order.placed',
  'order.filled',
  'order.partially_filled',
  'order.cancelled',
  'order.rejected',
  'order.conflict',
  'order.taken_back',
  'order.settled_absent',
  'order.fills_from_answer',
  'order.in_doubt',
  'order.operator_settled',
  'order.self_trade',
  'position.opened',
  'position.closed',
  'position.shortfall',
  'position.unsellable',
  'position.written_off',
  'risk.triggered',
  'exchange.unreachable',
  'exchange.key_refused',
  'exchange.recovered',
  'persist.failed',
  'trading.paused',
  'trading.resumed',
  'market.halted',
  'market.resumed',
  'market.stale',
  'market.fresh',
  'exit.held',
  'entry.stake_too_small',
  'clock.skew',
  'api_key.limits',
  'recovery',
] as const satisfies readonly TradingEventType[];

export const tradingEventSchema = z.looseObject({
  seq: z.number().int().min(1),
  ts: z.number().int().min(0),
  type: z.string().regex(EVENT_TYPE_FORM),
  summary: z.string(),
  data: z.record(z.string(), z.unknown()),
});

/** Parses one event line; throws when it does not match. */
export function validateTradingEvent(value: unknown): TradingEvent {
  return tradingEventSchema.parse(value) as TradingEvent;
}
