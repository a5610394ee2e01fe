/**
 * Positions and PnL, derived from fills only (pure). A position is the running fold of its symbol's fills with
 * the average-cost method: buys add amount and cost (fees included), sells realize
 * `proceeds - average cost × amount sold`. Fees paid in the base currency change the amount held; fees in the
 * quote currency change cost or proceeds; fees in any other currency (e.g. BNB) count at their quote value at
 * fill time (`feeQuote`, valued when the fill was recorded), as cost on a buy and less proceeds on a sell.
 *
 * A round trip ends when what is left can no longer be sold by a market order (below one amount step, the market
 * minimum amount, or worth less than its minimum order value at the fill's price where that minimum applies to market
 * orders, given `lots`): the dust stays in the position with its cost, and the next buy starts a new trip with its
 * own PnL.
 *
 * Fills are de-duplicated by (exchange order id, trade id), so applying the same trade twice changes nothing.
 */
import { utcDay } from '../../../shared/clock';
import type { OrderSide } from '../../../shared/domain/order';
import type { ExchangeTrade, FillOrder } from '../../exchange/exchange';
import { sellableByExits, type SellRules } from '../../exchange/precision';

export type { FillOrder } from '../../exchange/exchange';

/**
 * What decides whether a held amount is still a position: the market's rules precision.ts `sellableByExits` reads
 * (the rule risk.ts isOpenPosition uses).
 */
export type Lot = SellRules;

export interface Fill {
  /** Exchange order id. */
  orderId: string;
  clientOrderId: string;
  tradeId: string;
  symbol: string;
  side: OrderSide;
  price: number;
  amount: number;
  /** Fee as charged by the exchange. */
  feeCost: number;
  feeCurrency: string;
  /**
   * Quote value of a fee charged in a third currency (e.g. BNB), at the fee currency's price when the fill was
   * recorded; null when no market prices it (it then counts as 0 and the operator is told). Absent for fees in
   * the base or quote currency, which need no price.
   */
  feeQuote?: number | null;
  /**
   * Set when `feeQuote` is not the fee currency's price when the fill was recorded: its read failed, and the fee is
   * valued at the last price read (absent `feeQuote`: none was, it counts 0). The fill is booked all the same.
   */
  feeEstimated?: true;
  /** Exchange time of the trade. */
  timestamp: number;
  /**
   * A write-off's place among its symbol's fills (held-balance.ts `writeOffPlace`): the trade id of the symbol's last
   * fill in the hot state when it was written, so it follows that fill and precedes every later one whatever their
   * times say (`inReplayOrder`). Absent on the exchange's own fills; on a write-off, absent where the exchange's fills
   * replay in time order (`FillOrder` time: there its time places it) and when none of the symbol's fills was hot (its
   * fills are then in the checkpoint: time order places it after them).
   */
  afterTradeId?: string;
}

/** One symbol's position: also the checkpoint format for fills moved out of hot state. */
export interface PositionBook {
  symbol: string;
  /** Base amount held by the bot. */
  amount: number;
  /** Quote spent on what is still held, buy fees included. */
  costBasis: number;
  realizedPnl: number;
  /** Quote value of every fee paid on this symbol. */
  feesPaid: number;
  /** Time of the first fill of the current position; null when flat. */
  openedAt: number | null;
  /** Realized PnL of the current round trip (since the position last opened); the PnL of a close. */
  tripRealizedPnl: number;
  /** Realized PnL by UTC day (`YYYY-MM-DD`), for the daily-loss kill switch and "PnL today". */
  realizedByDay: Record<string, number>;
  /**
   * The bot's fees paid in this position's base coin on its other pairs (Binance's BNB burn) since the position
   * opened, less what write-offs already took as fees (held-balance.ts): kept in the fold, so the fees of orders
   * moved to the history journal still count, once. Absent: none (and in checkpoints written before it existed).
   */
  feesInCoin?: FeesInCoin;
  /**
   * The highest trade id among the symbol's fills folded so far where the exchange numbers its trades (`sequenceOf`:
   * Binance, OKX, paper): kept in the checkpoint, so a write-off made when every fill of the symbol has moved to the
   * history journal still follows them in trade-id order (held-balance.ts writeOffPlace) instead of by time. Absent:
   * none numbered (Bybit), or a checkpoint written before state version 4.
   */
  lastTradeId?: string;
}

/** Fees the bot paid in a coin on other pairs: amount and their quote value when recorded. */
export interface FeesInCoin {
  amount: number;
  quoteValue: number;
}

/** tradeId of a write-off's fill for the part the bot's own fees in the coin explain (held-balance.ts). */
export const FEES_IN_COIN_TRADE_ID = 'fees-paid-in-coin';

/** How a write-off order's clientOrderId begins (never one of the exchange's ids: no bot id, no install id). */
export const WRITE_OFF_ID_PREFIX = 'write-off-';

/** Amounts below this are float noise, not a position. */
const EPSILON = 1e-12;
/** Days of realizedByDay kept in a checkpoint. */
const DAYS_KEPT = 7;

export function fillKey(fill: Pick<Fill, 'orderId' | 'tradeId'>): string {
  return `${fill.orderId}:${fill.tradeId}`;
}

/** Symbols split so far (splitSymbol); cleared past this many, which no exchange's listing reaches. */
const SPLITS_KEPT = 20_000;
const splits = new Map<string, Readonly<{ base: string; quote: string }>>();

/**
 * A symbol's base and quote (`BTC/USDT:USDT` → BTC, USDT). Each symbol is split once and its answer shared (frozen):
 * the engine asks per order and per fill in its passes over the orders (the busy coins of each balance reading, the
 * positions' replay, the archive's sort), each time a split into new arrays and strings.
 */
export function splitSymbol(symbol: string): Readonly<{ base: string; quote: string }> {
  let split = splits.get(symbol);
  if (split === undefined) {
    const parts = symbol.split('/');
    split = Object.freeze({ base: parts[0], quote: (parts[1] ?? '').split(':')[0] });
    if (splits.size >= SPLITS_KEPT) splits.clear();
    splits.set(symbol, split);
  }
  return split;
}

/** Whether the fee is in neither the base nor the quote currency, so it needs a price to count. */
export function feeNeedsValuation(fill: Pick<Fill, 'symbol' | 'feeCost' | 'feeCurrency'>): boolean {
  const { base, quote } = splitSymbol(fill.symbol);
  return fill.feeCost > 0 && fill.feeCurrency !== base && fill.feeCurrency !== quote;
}

export function fillFromTrade(trade: ExchangeTrade, clientOrderId: string): Fill {
  return {
    orderId: trade.orderId,
    clientOrderId,
    tradeId: trade.id,
    symbol: trade.symbol,
    side: trade.side,
    price: trade.price,
    amount: trade.amount,
    feeCost: trade.fee?.cost ?? 0,
    feeCurrency: trade.fee?.currency ?? '',
    timestamp: trade.timestamp,
  };
}

export function emptyBook(symbol: string): PositionBook {
  return {
    symbol,
    amount: 0,
    costBasis: 0,
    realizedPnl: 0,
    tripRealizedPnl: 0,
    feesPaid: 0,
    openedAt: null,
    realizedByDay: {},
  };
}

/** The book after one more fill (a new object; the input is not changed). */
export function applyFill(book: PositionBook, fill: Fill, lot?: Lot): PositionBook {
  const { base, quote } = splitSymbol(fill.symbol);
  const baseFee = fill.feeCurrency === base ? fill.feeCost : 0;
  // a third-currency fee (BNB) counts at its quote value at fill time, like a quote fee
  const quoteFee =
    fill.feeCurrency === quote ? fill.feeCost : feeNeedsValuation(fill) ? (fill.feeQuote ?? 0) : 0;
  const next: PositionBook = { ...book, realizedByDay: { ...book.realizedByDay } };
  next.feesPaid += quoteFee + baseFee * fill.price;
  if (fill.side === 'buy') {
    next.amount += fill.amount - baseFee;
    next.costBasis += fill.amount * fill.price + quoteFee;
    if (next.openedAt === null) {
      next.openedAt = fill.timestamp;
      next.tripRealizedPnl = 0;
    }
  } else {
    const leaving = fill.amount + baseFee;
    const held = Math.max(book.amount, 0);
    const averageCost = held > EPSILON ? book.costBasis / held : 0;
    const soldFromPosition = Math.min(leaving, held);
    const costOut = averageCost * soldFromPosition;
    // proceeds of any amount sold beyond the position (not ours) are not counted as profit
    // (a base-currency fee leaves the position at its average cost and earns nothing, so costOut covers it)
    const proceeds = (fill.amount * fill.price - quoteFee) * (leaving > 0 ? soldFromPosition / leaving : 0);
    const realized = proceeds - costOut;
    next.amount -= leaving;
    next.costBasis -= costOut;
    next.realizedPnl += realized;
    next.tripRealizedPnl += realized;
    const day = utcDay(fill.timestamp);
    next.realizedByDay[day] = (next.realizedByDay[day] ?? 0) + realized;
  }
  if (next.amount <= EPSILON) {
    next.amount = Math.max(next.amount, 0) < EPSILON ? 0 : next.amount;
    next.costBasis = 0;
    next.openedAt = null;
  } else if (lot && sellableByExits(next.amount, lot, fill.price) === 0) {
    // only dust is left (a base-currency buy fee always leaves some; a limit entry cancelled after a small part
    // filled), unsellable at this fill's price: the round trip is over (isOpenPosition's rule, the one function)
    next.openedAt = null;
  }
  // fees paid in the coin belong to one round trip: a new one (or none) starts without them
  if (next.openedAt !== book.openedAt) delete next.feesInCoin;
  return next;
}

/**
 * What `fill` changes in the books' `feesInCoin`, in place (every book in `books` is derivePositions' own copy; the
 * `feesInCoin` objects, which a checkpoint may share, are replaced, never changed): a fee in a third currency X
 * adds to every position in X open when it is replayed (the fee came out of the coins the account holds), and a
 * write-off's fee part in X takes what it explained out of every open position in X (one fee never explains two
 * shortfalls).
 */
function countFeesInCoin(
  books: Record<string, PositionBook>,
  fill: Fill,
  symbolsByBase: ReadonlyMap<string, readonly string[]>,
): void {
  const paid = feeNeedsValuation(fill);
  const spent =
    fill.tradeId === FEES_IN_COIN_TRADE_ID &&
    fill.clientOrderId.startsWith(WRITE_OFF_ID_PREFIX) &&
    fill.side === 'sell';
  if (!paid && !spent) return;
  const coin = paid ? fill.feeCurrency : splitSymbol(fill.symbol).base;
  for (const symbol of symbolsByBase.get(coin) ?? []) {
    const book = books[symbol]!;
    if (book.openedAt === null) continue;
    const had = book.feesInCoin ?? { amount: 0, quoteValue: 0 };
    if (paid) {
      // a fee on a pair whose base is the coin is a base fee, already out of that position; a fee replayed while
      // the position is open counts, whatever its time says (exchange times can go back: replay order decides,
      // and comparing its time with openedAt as well dropped fees replayed after the opening fill)
      if (book.symbol === fill.symbol) continue;
      book.feesInCoin = {
        amount: had.amount + fill.feeCost,
        quoteValue: had.quoteValue + (fill.feeQuote ?? 0),
      };
    } else if (had.amount > 0) {
      const left = Math.max(0, had.amount - fill.amount);
      book.feesInCoin = { amount: left, quoteValue: had.quoteValue * (left / had.amount) };
    }
  }
}

/**
 * Time order: fill time, then trade id — numerically when both ids are numbers ("10" after "9"), else as text. Fills
 * of one millisecond go by trade id on every exchange: where ids grow with the trades that is their order, and Bybit
 * recommends it for executions of one `execTime` ("sort according to execId+OrderId+leavesQty").
 */
export function byFillTime(a: Fill, b: Fill): number {
  return a.timestamp - b.timestamp || compareTradeIds(a.tradeId, b.tradeId);
}

function compareTradeIds(a: string, b: string): number {
  if (isDigits(a) && isDigits(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
  }
  return a.localeCompare(b);
}

function isDigits(s: string): boolean {
  return /^\d+$/.test(s);
}

/**
 * Where a fill stands in its symbol's sequence, on an exchange whose trade ids grow as trades happen (`FillOrder`
 * `trade-id`): its trade id, or for a write-off the id it follows, just after it. Null: an id that is not a number
 * (a write-off's own id) or a write-off written before `afterTradeId` existed.
 */
function sequenceOf(fill: Fill): { id: string; after: number } | null {
  if (fill.afterTradeId !== undefined)
    return isDigits(fill.afterTradeId) ? { id: fill.afterTradeId, after: 1 } : null;
  return isDigits(fill.tradeId) ? { id: fill.tradeId, after: 0 } : null;
}

/**
 * The order fills are applied in (pure). Where the exchange documents its trade ids as growing with its trades
 * (`order` `trade-id`), each symbol's fills follow them when every one of them has a sequence (`sequenceOf`): an
 * exchange's clock can go back, so a later trade may carry an earlier time than the one before it, and applying it
 * first would sell from an empty position and buy it back. A symbol whose fills are not all numbered keeps time
 * order, and so does every symbol where the exchange promises no id order (`time`: Bybit, by `execTime`, its own
 * sort key) — there an id order that contradicts time would replay a sell before its buy. Symbols interleave by time
 * (each keeps the places its fills take in time order; a position depends only on its own symbol's fills).
 */
export function inReplayOrder(fills: readonly Fill[], order: FillOrder): Fill[] {
  const ordered = [...fills].sort(byFillTime);
  if (order !== 'trade-id') return ordered;
  const places = new Map<string, number[]>();
  for (let i = 0; i < ordered.length; i++) {
    const symbol = ordered[i]!.symbol;
    const at = places.get(symbol);
    if (at) at.push(i);
    else places.set(symbol, [i]);
  }
  for (const at of places.values()) {
    if (at.length < 2) continue;
    const own = at.map((i) => ordered[i]!);
    const keys = own.map(sequenceOf);
    if (keys.some((k) => k === null)) continue;
    const sorted = own
      .map((_, j) => j)
      .sort((a, b) => compareTradeIds(keys[a]!.id, keys[b]!.id) || keys[a]!.after - keys[b]!.after || a - b);
    sorted.forEach((j, n) => (ordered[at[n]!] = own[j]!));
  }
  return ordered;
}

/**
 * The `afterTradeId` of a fill written now after `fills` (one symbol's fills in the hot state) and the checkpoint's
 * (`folded`: its book's `lastTradeId`): the last in their sequence, or undefined when the exchange's fills replay in
 * time order (`order`), when the hot ones are not all numbered, or there are none and the checkpoint keeps no id
 * (time order decides there: '0' would put the new fill before the archived ones wherever they are folded again, as
 * the /pnl report does).
 */
export function sequenceAfter(fills: readonly Fill[], order: FillOrder, folded?: string): string | undefined {
  if (order !== 'trade-id') return undefined;
  if (fills.length === 0) return folded;
  let last = folded ?? '0';
  for (const f of fills) {
    const key = sequenceOf(f);
    if (key === null) return undefined;
    if (compareTradeIds(key.id, last) > 0) last = key.id;
  }
  return last;
}

/**
 * Positions from a checkpoint plus fills: fills are de-duplicated by (order id, trade id) and applied in replay
 * order (`inReplayOrder`, by the exchange's `order`). The checkpoint holds the fold of fills already moved to the
 * journal. A fill also counts in the other positions' `feesInCoin` (countFeesInCoin), so the archive keeps the fills
 * of the pairs involved in time order (order-archive.ts). A symbol without a lot never ends a round trip at dust.
 */
export function derivePositions(
  checkpoint: Readonly<Record<string, PositionBook>>,
  fills: readonly Fill[],
  lots: Readonly<Record<string, Lot>>,
  order: FillOrder,
): Record<string, PositionBook> {
  const books: Record<string, PositionBook> = {};
  // the books of each base coin, for the fees paid in it (countFeesInCoin)
  const symbolsByBase = new Map<string, string[]>();
  const open = (symbol: string, book: PositionBook): void => {
    books[symbol] = book;
    const base = splitSymbol(symbol).base;
    const symbols = symbolsByBase.get(base);
    if (symbols) symbols.push(symbol);
    else symbolsByBase.set(base, [symbol]);
  };
  for (const [symbol, book] of Object.entries(checkpoint)) open(symbol, { ...emptyBook(symbol), ...book });
  const seen = new Set<string>();
  for (const fill of inReplayOrder(fills, order)) {
    const key = fillKey(fill);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!(fill.symbol in books)) open(fill.symbol, emptyBook(fill.symbol));
    const next = applyFill(books[fill.symbol]!, fill, lots[fill.symbol]);
    // a last trade id means something only where the exchange's ids follow its trades
    books[fill.symbol] = order === 'trade-id' ? withLastTradeId(next, fill) : next;
    countFeesInCoin(books, fill, symbolsByBase);
  }
  return books;
}

/** `book` (applyFill's new object) with `fill`'s trade id as its last where that is later (`lastTradeId`). */
function withLastTradeId(book: PositionBook, fill: Fill): PositionBook {
  const key = sequenceOf(fill);
  if (key !== null && (book.lastTradeId === undefined || compareTradeIds(key.id, book.lastTradeId) > 0))
    book.lastTradeId = key.id;
  return book;
}

export function averageEntryPrice(book: PositionBook): number {
  return book.amount > EPSILON ? book.costBasis / book.amount : 0;
}

/** Mark-to-market gain of what is held (buy fees included in cost, sell fees not yet paid). */
export function unrealizedPnl(book: PositionBook, lastPrice: number): number {
  return book.amount > EPSILON ? book.amount * lastPrice - book.costBasis : 0;
}

export function realizedOnDay(books: Readonly<Record<string, PositionBook>>, day: string): number {
  let sum = 0;
  for (const book of Object.values(books)) sum += book.realizedByDay[day] ?? 0;
  return sum;
}

export function realizedTotal(books: Readonly<Record<string, PositionBook>>): number {
  let sum = 0;
  for (const book of Object.values(books)) sum += book.realizedPnl;
  return sum;
}

/** Drops realizedByDay entries older than DAYS_KEPT days before `now`, to keep checkpoints small. */
export function pruneDays(book: PositionBook, now: number): PositionBook {
  const oldest = utcDay(now - DAYS_KEPT * 86_400_000);
  const realizedByDay: Record<string, number> = {};
  for (const [day, value] of Object.entries(book.realizedByDay))
    if (day >= oldest) realizedByDay[day] = value;
  return { ...book, realizedByDay };
}
