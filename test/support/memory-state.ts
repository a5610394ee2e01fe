/**
 * The trading state as the watches commit to it (`data` and `commitWithEvents`, StateGateway's part), in memory, with
 * the events committed with each change: what a Store's commit does — a changed copy, durable as a whole.
 */
import type { EventDraft } from '../../src/trading/engine/orders/order-events';
import { defaultTradingState, type TradingState } from '../../src/trading/engine/state/trading-state';

export interface MemoryTradingState {
  data: TradingState;
  events: EventDraft[];
  commitWithEvents: (mutate: (d: TradingState) => void, events: EventDraft[]) => Promise<void>;
}

export function memoryTradingState(data: TradingState = defaultTradingState()): MemoryTradingState {
  const state: MemoryTradingState = {
    data,
    events: [],
    commitWithEvents: async (mutate, events) => {
      const next = structuredClone(state.data);
      mutate(next);
      state.data = next;
      state.events.push(...events);
    },
  };
  return state;
}
