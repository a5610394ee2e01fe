/**
 * The operator's write-off of a holding the bot can no longer sell — /writeoff <symbol> (decide/unsellable.ts: below
 * the exchange's minimum for one order, or its symbol delisted). Refused for anything the exits could still sell
 * (precision.ts sellableByExits: never writes off a position the bot manages), with an order of the symbol in
 * flight, or with nothing held.
 *
 * Booked as a `write-off` order (no exchange order, as shortfall-watch.ts books a shortfall; reconcile never looks it
 * up) whose one fill sells the whole holding at price 0: the bot realizes the loss of its cost, on the exchange's
 * day of the write-off (it counts toward the daily-loss kill switch). At 0, not at the last price: the bot cannot
 * sell it, so it is worth nothing to the bot's books, and whatever the operator gets for it by hand is the owner's,
 * not a trade of the bot's — PnL never counts a sale that did not happen. The coins left in the account are the
 * owner's from then on (the bot never sells them). The position's slot (`risk.maxOpenPositions`) is free again.
 * Decisions here are pure; the shell (`writeOffHolding`) commits the order with its event.
 */
import type { WriteOffResult } from '../../../shared/ipc/protocol';
import type { Market } from '../../exchange/exchange';
import { positionsOf } from '../books/fill-sync';
import { WRITE_OFF_ID_PREFIX, splitSymbol, type Fill, type PositionBook } from '../books/pnl';
import { writeOffPlace } from '../decide/held-balance';
import { unsellableHolding, type UnsellableHolding } from '../decide/unsellable';
import { readable, type EventDraft } from '../orders/order-events';
import type { OrderBook } from '../orders/order-book';
import type { LocalOrder } from '../orders/order-state';
import type { StateGateway } from '../state/state-gateway';

/** The trade id of a write-off's one fill (never one of the exchange's: they are digits or uuids). */
export const OPERATOR_WRITE_OFF_TRADE_ID = 'operator-write-off';

export type WriteOffDecision =
  { ok: true; order: LocalOrder; holding: UnsellableHolding } | { ok: false; refusal: string };

export interface WriteOffContext {
  /** The symbol's position as the fills make it (absent: never traded). */
  book: PositionBook | undefined;
  /** The market loaded now (absent: delisted). */
  market: Market | undefined;
  /** The price the holding is judged at (the last price, or its cost per unit). */
  price: number | undefined;
  /** An order of the symbol still needs the exchange. */
  busy: boolean;
  now: number;
  /** Where the fill goes among the symbol's fills (held-balance.ts `writeOffPlace`). */
  place: { at: number; afterTradeId: string | undefined };
}

/** The write-off order of `symbol`'s holding, or why it is refused (pure). */
export function writeOffByOperator(symbol: string, ctx: WriteOffContext): WriteOffDecision {
  const amount = ctx.book?.amount ?? 0;
  if (!(amount > 1e-12)) return refuse(`the bot holds nothing of ${symbol}: nothing to write off`);
  if (ctx.busy) {
    return refuse(`an order of ${symbol} is still in flight: its fills decide what is held, try again later`);
  }
  const holding = unsellableHolding(symbol, amount, ctx.market, ctx.price);
  if (!holding) {
    return refuse(
      `the bot can still sell its ${readable(amount)} of ${symbol} (or it is dust an exit leaves, below one amount ` +
        `step): only a holding the exchange's minimum or a delisting makes unsellable is written off; ` +
        `/closeall or the strategy sells it`,
    );
  }
  const clientOrderId = `${WRITE_OFF_ID_PREFIX}${symbol.replace(/[^A-Za-z0-9]/g, '')}-${ctx.now}`;
  const fill: Fill = {
    orderId: clientOrderId,
    clientOrderId,
    tradeId: OPERATOR_WRITE_OFF_TRADE_ID,
    symbol,
    side: 'sell',
    price: 0,
    amount,
    feeCost: 0,
    feeCurrency: '',
    timestamp: ctx.place.at,
    ...(ctx.place.afterTradeId !== undefined ? { afterTradeId: ctx.place.afterTradeId } : {}),
  };
  const order: LocalOrder = {
    clientOrderId,
    symbol,
    side: 'sell',
    type: 'market',
    amount,
    filled: amount,
    averagePrice: 0,
    status: 'filled',
    purpose: 'write-off',
    reason:
      holding.reason === 'delisted'
        ? `written off by the operator: ${symbol} is no longer listed`
        : `written off by the operator: below the exchange's minimum for one order`,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    fills: [fill],
  };
  return { ok: true, order, holding };
}

/** The `position.written_off` event (pure). */
export function writtenOffEvent(
  holding: UnsellableHolding,
  before: PositionBook | undefined,
  after: PositionBook | undefined,
): EventDraft {
  const { quote } = splitSymbol(holding.symbol);
  const loss = (after?.realizedPnl ?? 0) - (before?.realizedPnl ?? 0);
  const value =
    holding.price !== undefined
      ? ` (worth ~${(holding.amount * holding.price).toFixed(2)} ${quote} at the last price)`
      : '';
  return {
    type: 'position.written_off',
    summary:
      `${holding.symbol}: ${readable(holding.amount)}${value} written off by the operator ` +
      `(${holding.reason === 'delisted' ? 'delisted' : "below the exchange's minimum"}), booked at price 0: ` +
      `PnL ${loss >= 0 ? '+' : ''}${loss.toFixed(2)} ${quote}. The bot no longer holds it; what the account still ` +
      `holds of it is the owner's`,
    data: {
      symbol: holding.symbol,
      amount: holding.amount,
      reason: holding.reason,
      price: holding.price ?? null,
      realizedPnl: loss,
    },
  };
}

/**
 * Writes off `symbol`'s holding on the operator's word (the I/O shell: run it between ticks, holding the symbol's
 * lane: OperatorActions.writeOff): commits the order with its event, and forgets the symbol's `position.unsellable`
 * announcement in the same commit. Returns what it wrote off, or the refusal.
 */
export async function writeOffHolding(
  {
    orderBook,
    state,
  }: {
    orderBook: Pick<
      OrderBook,
      'positions' | 'pendingOrders' | 'hotOrders' | 'markets' | 'lastPrices' | 'fillOrder'
    >;
    state: Pick<StateGateway, 'data' | 'commitWithEvents'>;
  },
  symbol: string,
  now: number,
  exchangeNow: number,
): Promise<WriteOffOutcome> {
  const book = orderBook.positions()[symbol];
  const price =
    orderBook.lastPrices[symbol] ?? (book && book.amount > 0 ? book.costBasis / book.amount : undefined);
  const decision = writeOffByOperator(symbol, {
    book,
    market: orderBook.markets[symbol],
    price: price !== undefined && price > 0 ? price : undefined,
    busy: orderBook.pendingOrders(symbol).length > 0,
    now,
    place: writeOffPlace(
      symbol,
      orderBook.hotOrders().flatMap((o) => o.fills),
      exchangeNow,
      orderBook.fillOrder,
      book?.lastTradeId,
    ),
  });
  if (!decision.ok) return decision;
  const after = positionsOf(state.data, orderBook.markets, orderBook.fillOrder, decision.order)[symbol];
  const { order } = decision;
  await state.commitWithEvents(
    (d) => {
      d.orders[order.clientOrderId] = order;
      if (symbol in d.announcedUnsellable) {
        const next = { ...d.announcedUnsellable };
        delete next[symbol];
        d.announcedUnsellable = next;
      }
    },
    [writtenOffEvent(decision.holding, book, after)],
  );
  return {
    ok: true,
    result: {
      symbol,
      amount: order.amount,
      reason: decision.holding.reason,
      realizedPnl: (after?.realizedPnl ?? 0) - (book?.realizedPnl ?? 0),
      clientOrderId: order.clientOrderId,
    },
  };
}

/** What the shell did: the write-off committed, or the refusal. */
export type WriteOffOutcome = { ok: true; result: WriteOffResult } | { ok: false; refusal: string };

function refuse(refusal: string): { ok: false; refusal: string } {
  return { ok: false, refusal };
}
