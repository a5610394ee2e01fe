/**
 * Positions the bot can no longer sell (decide/unsellable.ts), judged at each markets load — the start's, the daily
 * reload, the one after a create refused for the trading rules: the operator is told once (`position.unsellable`),
 * and what was told is kept in the trading state (`announcedUnsellable`), committed with the event (the
 * transactional outbox, as market-halts.ts does for halts) — a restart does not tell it again; a holding sellable
 * again and held in another amount (more bought, sold), or written off, or gone, is forgotten, and told anew if it
 * turns unsellable later; the same amount sellable and unsellable again by turns (a price hovering about a minimum
 * value) is told once.
 */
import type { Logger } from '../../../shared/logging/logger';
import { averageEntryPrice, splitSymbol } from '../books/pnl';
import {
  unsellableChanges,
  unsellableHolding,
  unsellableSummary,
  type UnsellableHolding,
} from '../decide/unsellable';
import type { EventDraft } from '../orders/order-events';
import type { OrderBook } from '../orders/order-book';
import type { StateGateway } from '../state/state-gateway';
import { commitAnnouncement } from './market-halts';

export interface UnsellableWatchOptions {
  exchangeId: string;
  /** A symbol gone from the list may only be suspended (ExchangeTraits `unlistsSuspended`): the alert says so. */
  goneMayReturn?: boolean;
  /** Positions, orders in flight, the markets loaded and the last prices. */
  orderBook: Pick<OrderBook, 'positions' | 'pendingSymbols' | 'markets' | 'lastPrices'>;
  /** What was told, committed with its events. */
  state: Pick<StateGateway, 'data' | 'commitWithEvents'>;
  logger: Logger;
}

/** The holdings the bot cannot sell now, judged on the order book's markets (pure over its reads). */
export function unsellableNow(orderBook: UnsellableWatchOptions['orderBook']): {
  holdings: UnsellableHolding[];
  busy: Set<string>;
  held: Record<string, number>;
} {
  const busy = new Set(orderBook.pendingSymbols());
  const holdings: UnsellableHolding[] = [];
  const held: Record<string, number> = {};
  for (const book of Object.values(orderBook.positions())) {
    held[book.symbol] = book.amount;
    if (busy.has(book.symbol)) continue;
    const price = orderBook.lastPrices[book.symbol] ?? (averageEntryPrice(book) || undefined);
    const h = unsellableHolding(book.symbol, book.amount, orderBook.markets[book.symbol], price);
    if (h) holdings.push(h);
  }
  return { holdings, busy, held };
}

export class UnsellableWatch {
  constructor(private readonly opts: UnsellableWatchOptions) {}

  /** Markets were loaded at `now` (the order book holds them): tells what turned unsellable, forgets what did not. */
  async loaded(now: number): Promise<void> {
    const { orderBook, state, exchangeId } = this.opts;
    const { holdings, busy, held } = unsellableNow(orderBook);
    const announced = state.data.announcedUnsellable;
    const { fresh, cleared } = unsellableChanges(announced, holdings, busy, held);
    if (fresh.length === 0 && cleared.length === 0) return;
    const events: EventDraft[] = fresh.map((h) => {
      const data = { ...h, exchange: exchangeId, value: h.price !== undefined ? h.amount * h.price : null };
      this.opts.logger.error('A position can no longer be sold', data);
      return {
        type: 'position.unsellable',
        summary: unsellableSummary(h, exchangeId, splitSymbol(h.symbol).quote, this.opts.goneMayReturn),
        data,
      };
    });
    await commitAnnouncement(
      this.opts,
      (d) => {
        const next = { ...d.announcedUnsellable };
        for (const symbol of cleared) delete next[symbol];
        for (const h of fresh) next[h.symbol] = { reason: h.reason, amount: h.amount, at: now };
        d.announcedUnsellable = next;
      },
      events,
    );
  }
}
