/**
 * The full schema of a trading event (one `events.jsonl` line, one `event` notification). A line that fails it
 * is skipped and logged when the log is opened, never replayed half-trusted.
 */
import * as z from 'zod';
import type { TradingEvent, TradingEventType } from './protocol';

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
  type: z.enum(TRADING_EVENT_TYPES),
  summary: z.string(),
  data: z.record(z.string(), z.unknown()),
});

/** Parses one event line; throws when it does not match. */
export function validateTradingEvent(value: unknown): TradingEvent {
  return tradingEventSchema.parse(value) as TradingEvent;
}
