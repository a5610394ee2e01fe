/**
 * The bot's own order book, read-only: its orders (hot state, and with the history journal every order), the
 * positions their fills make, and the two in-memory books those are valued against — the markets (market-refresh.ts
 * sets them at each load) and the last price read per symbol (the tick writes it). Not the exchange's depth of
 * bids and asks: the bot never reads that. Reads only: it commits nothing, calls no exchange; the journal's reads
 * (`allOrders`, `historySeq`) are its only I/O. The engine's parts that read orders or positions are handed this
 * (or a `Pick` of it) by engine-parts.ts; the order manager reads through it too.
 */
import type { ExchangeTraits, Market } from '../../exchange/exchange';
import { positionsOf } from '../books/fill-sync';
import { historySeqBound, type HistoryLog } from '../state/order-archive';
import { needsExchange, type LocalOrder } from './order-state';
import { averageEntryPrice, type FillOrder, type PositionBook } from '../books/pnl';
import { isOpenPosition } from '../decide/risk';
import type { StateGateway } from '../state/state-gateway';

export interface OrderBookOptions {
  /** The state the orders are read from (never written here); its `version` says when they may have changed. */
  state: Pick<StateGateway, 'data' | 'version'>;
  history: HistoryLog;
  markets: Record<string, Market>;
  botId: string;
  traits: Pick<ExchangeTraits, 'fillOrder' | 'buyFeeCoin'>;
}

/** The hot orders as of one version of the state, sorted once (`hotOrders`, `pendingOrders`). */
interface KeptOrders {
  version: number;
  /** Every hot order, oldest first. */
  hot: readonly LocalOrder[];
  /** Those that need the exchange, oldest first: worked out at the first `pendingOrders`. */
  pending?: readonly LocalOrder[];
  /** Their symbols, each once: worked out at the first `pendingSymbols`. */
  pendingSymbols?: readonly string[];
  /** Each symbol's of those, as asked. */
  pendingBySymbol: Map<string, readonly LocalOrder[]>;
}

/** The pending orders of a kept listing, worked out at the first ask. */
function pendingOf(kept: KeptOrders): readonly LocalOrder[] {
  kept.pending ??= kept.hot.filter(needsExchange);
  return kept.pending;
}

/** The positions as of one version of the state and one load of the markets (`positions`). */
interface KeptPositions {
  version: number;
  markets: Record<string, Market>;
  books: Readonly<Record<string, Readonly<PositionBook>>>;
}

export class OrderBook {
  private marketBook: Record<string, Market>;
  private kept: KeptOrders | undefined;
  private keptPositions: KeptPositions | undefined;
  /**
   * The last price read per symbol (the loop writes it each tick): what the dust rule values a position at, for the
   * decision and everything else alike (risk.ts isOpenPosition).
   */
  readonly lastPrices: Record<string, number> = {};

  constructor(private readonly opts: OrderBookOptions) {
    this.marketBook = opts.markets;
  }

  get markets(): Record<string, Market> {
    return this.marketBook;
  }

  /** Markets loaded again (daily refresh): steps, minimums and listings as the exchange has them now. */
  setMarkets(markets: Record<string, Market>): void {
    this.marketBook = markets;
  }

  /** The exchange's order of a symbol's trades (ExchangeTraits `fillOrder`): the order the books replay fills in. */
  get fillOrder(): FillOrder {
    return this.opts.traits.fillOrder;
  }

  /** The coin the exchange takes a buy's fee in (ExchangeTraits `buyFeeCoin`). */
  get buyFeeCoin(): 'base' | 'quote' {
    return this.opts.traits.buyFeeCoin;
  }

  get botId(): string {
    return this.opts.botId;
  }

  get installId(): string {
    return this.opts.state.data.installId;
  }

  order(clientOrderId: string): LocalOrder | undefined {
    return this.opts.state.data.orders[clientOrderId];
  }

  /**
   * The hot state's orders (those that pass `test`, when given), oldest first; a new array at each call. Listed and
   * sorted once per version of the state (counted-store.ts), then only filtered: the engine reads them (and the
   * pending ones, below) ~15 times before ready and at every tick — recovery, the watched symbols, the account,
   * each symbol's tick and decision — each a listing and sort of every hot order (~1 ms with 1,000 open orders).
   */
  hotOrders(test?: (order: LocalOrder) => boolean): LocalOrder[] {
    const { hot } = this.keptNow();
    return test ? hot.filter(test) : hot.slice();
  }

  /** Orders that still need the exchange (not final, or final with fills still to fetch), oldest first. */
  pendingOrders(symbol?: string): LocalOrder[] {
    const kept = this.keptNow();
    const pending = pendingOf(kept);
    if (!symbol) return pending.slice();
    let mine = kept.pendingBySymbol.get(symbol);
    if (!mine) {
      mine = pending.filter((o) => o.symbol === symbol);
      kept.pendingBySymbol.set(symbol, mine);
    }
    return mine.slice();
  }

  /**
   * The symbols of the orders that still need the exchange, each once, in the order of their oldest such order; a new
   * array at each call. What the watched symbols, the busy coins of a balance reading and the unsellable watch ask
   * (each a pass over every pending order when they listed them), kept with the pending orders.
   */
  pendingSymbols(): string[] {
    const kept = this.keptNow();
    kept.pendingSymbols ??= [...new Set(pendingOf(kept).map((o) => o.symbol))];
    return kept.pendingSymbols.slice();
  }

  private keptNow(): KeptOrders {
    const { version, data } = this.opts.state;
    if (version !== undefined && this.kept?.version === version) return this.kept;
    const hot = Object.values(data.orders).sort((a, b) => a.createdAt - b.createdAt);
    const kept: KeptOrders = { version: version ?? NaN, hot, pendingBySymbol: new Map() };
    // read inside a change (version undefined): answered from the state as it is, kept for no later read
    if (version !== undefined) this.kept = kept;
    return kept;
  }

  /** Every order: history journal (older) then hot state, one entry per clientOrderId. */
  async allOrders(): Promise<LocalOrder[]> {
    const byId = new Map<string, LocalOrder>();
    for (const entry of await this.opts.history.readAll()) byId.set(entry.order.clientOrderId, entry.order);
    for (const order of this.hotOrders()) byId.set(order.clientOrderId, order);
    return [...byId.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  /** The highest clientOrderId sequence the history journal can hold (order-archive.ts). */
  historySeq(): Promise<number> {
    return historySeqBound(this.opts.history, this.botId, this.installId);
  }

  /**
   * The positions the state's checkpoint and hot orders' fills make (positionsOf), a new record at each call holding
   * books shared between calls (never changed: read them only). Derived once per version of the state and load of the
   * markets (their lots decide when dust ends a round trip), as the hot orders are listed: the engine reads them
   * several times before ready — recovery, the watched symbols, the account, the unsellable watch — and at every tick,
   * each a replay of every hot order's fills.
   */
  positions(): Record<string, Readonly<PositionBook>> {
    const { version, data } = this.opts.state;
    const kept = this.keptPositions;
    if (version !== undefined && kept?.version === version && kept.markets === this.marketBook)
      return { ...kept.books };
    const books = positionsOf(data, this.marketBook, this.fillOrder);
    // read inside a change (version undefined): derived from the state as it is, kept for no later read
    if (version !== undefined) this.keptPositions = { version, markets: this.marketBook, books };
    return { ...books };
  }

  /**
   * Positions that could be sold now: dust worth less than the minimum order value is none. Valued at the symbol's
   * last price — the one the tick's decision used — or, before any price is known, at its own cost per unit.
   */
  openPositions(
    positions: Record<string, Readonly<PositionBook>> = this.positions(),
  ): Readonly<PositionBook>[] {
    return Object.values(positions).filter((p) =>
      isOpenPosition(p.amount, this.marketBook[p.symbol], this.lastPrices[p.symbol] ?? averageEntryPrice(p)),
    );
  }
}
