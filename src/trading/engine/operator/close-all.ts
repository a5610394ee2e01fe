/**
 * Close-all, the operator's action (/closeall, `byninja closeall`): pause entries, settle every order still working,
 * then market-sell every open position through the order manager — write-ahead like any order.
 *
 * Entries are paused first, by the operator even over a risk pause: the strategy would reopen what is being closed,
 * and the kill switch clearing (next day) must not either. A working order is cancelled and a finished one's missing
 * fills fetched first; a position whose symbol the placement gate still holds (an order not settled, an outcome
 * unknown) is skipped and said so — closing it now could sell twice; the operator retries once it is settled. A
 * symbol whose work from a tick is still running (a create, cancel or lookup with no answer yet: the loop waits for
 * it at most the lookup deadline, OperatorActions.closeAll) is left alone and said so — a sell must never race an order
 * create or cancel on its symbol. A position is sold no further than the account holds (a balance read once the
 * orders are settled: one request, an operator's action), after a confirmed shortfall is written off
 * (shortfall-watch.ts). The loop runs it between ticks (OperatorActions.closeAll).
 */
import type { CloseAllResult } from '../../../shared/ipc/protocol';
import { errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { BalanceEntry, Exchange } from '../../exchange/exchange';
import { exitable } from '../decide/held-balance';
import type { OrderCancel } from '../orders/order-cancel';
import type { OrderBook } from '../orders/order-book';
import type { OrderManager } from '../orders/order-manager';
import type { OrderRefresh } from '../orders/order-refresh';
import { isFinal } from '../orders/order-state';
import { placementBlock, type PlacementFacts } from '../decide/placement-gate';
import { splitSymbol } from '../books/pnl';
import { sizeExitOrder } from '../decide/risk';
import type { InferredOrderWatch } from '../tick/inferred-orders';
import type { ShortfallWatch } from '../tick/shortfall-watch';
import type { PauseSource, PauseState } from '../state/trading-state';

export interface CloseAllDeps {
  /** Each sell placed, write-ahead. */
  manager: Pick<OrderManager, 'place'>;
  /** The orders and positions to settle and sell, the markets they are sized by (order-book.ts). */
  orderBook: Pick<OrderBook, 'order' | 'pendingOrders' | 'positions' | 'openPositions' | 'markets'>;
  /** An order brought up to date (order-refresh.ts): a finished one's fills, a sell's fill. */
  refresher: Pick<OrderRefresh, 'refresh'>;
  /** A working order cancelled (order-cancel.ts). */
  canceller: Pick<OrderCancel, 'cancel'>;
  /** Prices and the balance read; how the exchange refuses an order too large for its book (`traits.depthRefusal`). */
  exchange: Pick<Exchange, 'fetchTicker' | 'fetchBalance' | 'traits'>;
  /** Last prices the loop read (a position without one is priced by a ticker read). */
  lastPrices: Readonly<Record<string, number>>;
  /** A confirmed shortfall is written off before its position is sold. */
  shortfalls: Pick<ShortfallWatch, 'writeOffBeforeSale'>;
  inferred: Pick<InferredOrderWatch, 'ownerHeld'>;
  /** The symbol's placement facts as they are now. */
  placementFacts: (symbol: string) => PlacementFacts;
  pauseEntries: (reason: string, by: PauseSource, takeOver: boolean) => Promise<PauseState>;
  /** Whether a symbol's work from a tick is still running (its lane is held): nothing is done on it. */
  busy: (symbol: string) => boolean;
  logger: Logger;
}

/** Why close-all did nothing on a symbol still busy. */
const BUSY =
  'still busy with an order create, cancel or lookup from a tick that has not answered: nothing done on it (no sell racing an order in flight), close-all again once it is done';

export async function closeAll(deps: CloseAllDeps): Promise<CloseAllResult> {
  const { orderBook, logger } = deps;
  await deps.pauseEntries('close-all', 'operator', true);
  // taken once: a symbol busy now stays left alone for the whole close-all
  const held = [...orderBook.pendingOrders(), ...orderBook.openPositions()].map((x) => x.symbol);
  const busy = new Set(held.filter((symbol) => deps.busy(symbol)));
  const { cancelled, unsettled } = await settleOrders(deps, busy);
  const balance = await balanceAfterSettling(deps);
  const placed: string[] = [];
  const skipped: CloseAllResult['skipped'] = [];
  for (const position of orderBook.openPositions()) {
    const symbol = position.symbol;
    const facts = deps.placementFacts(symbol);
    const unsettledReason = unsettled.get(symbol) ?? placementBlock(facts, 'close-all')?.reason;
    if (unsettledReason) {
      skipped.push({ symbol, reason: unsettledReason });
      continue;
    }
    try {
      const price = deps.lastPrices[symbol] ?? (await deps.exchange.fetchTicker(symbol)).last;
      await deps.shortfalls.writeOffBeforeSale(symbol, price);
      const amount = orderBook.positions()[symbol]?.amount ?? 0;
      // never more than the account holds: the coin's free balance once our orders are settled
      const base = balance && (balance[splitSymbol(symbol).base] ?? { free: 0, used: 0, total: 0 });
      const held = exitable(amount, base ?? undefined, 0);
      const left = await sellAll(deps, symbol, held, price, placed, {
        ownerHeld: deps.inferred.ownerHeld(symbol),
        marketFirst: facts.urgentLimitMissed,
        depthCap: facts.depthRefused ? facts.depthRefused.amount / 2 : undefined,
        depthRefusal: deps.exchange.traits.depthRefusal,
      });
      if (left) skipped.push({ symbol, reason: left });
      else if (orderBook.openPositions().some((p) => p.symbol === symbol)) {
        // sold what the account holds, and the bot's position is still open: never "all closed" when it is not
        const still = orderBook.positions()[symbol]?.amount ?? 0;
        skipped.push({
          symbol,
          reason: `the account held ${held} of the position's ${amount}: ${still} ${symbol} still open (a shortfall not yet confirmed, or coins locked elsewhere); check the account, then close-all again`,
        });
      }
    } catch (err) {
      skipped.push({ symbol, reason: errorMessage(err) });
    }
  }
  // an order that could not be settled on a symbol without a position is still working: say so too
  for (const [symbol, reason] of unsettled) {
    if (!skipped.some((x) => x.symbol === symbol)) skipped.push({ symbol, reason });
  }
  logger.warn('Close-all done', { placed, cancelled, skipped });
  return { orders: placed, cancelled, skipped, paused: true };
}

/**
 * Every order that still needs the exchange, except on a `busy` symbol: a working one cancelled, a finished one's
 * missing fills fetched. Returns the cancelled ones and, by symbol, why an order could not be settled (or none was).
 */
async function settleOrders(
  { orderBook, refresher, canceller }: Pick<CloseAllDeps, 'orderBook' | 'refresher' | 'canceller'>,
  busy: ReadonlySet<string>,
): Promise<{ cancelled: string[]; unsettled: Map<string, string> }> {
  const cancelled: string[] = [];
  const unsettled = new Map<string, string>([...busy].map((symbol) => [symbol, BUSY]));
  for (const order of orderBook.pendingOrders()) {
    if (busy.has(order.symbol)) continue;
    try {
      if (isFinal(order.status)) {
        await refresher.refresh(order.clientOrderId);
        continue;
      }
      // settled now, the symbol is sold right after: a cancel the exchange carries out after its answer is read again
      const after = await canceller.cancel(order.clientOrderId, { settle: true });
      if (!isFinal(after.status)) throw new Error(`still ${after.status} after the cancel`);
      if (after.status === 'cancelled') cancelled.push(order.clientOrderId);
    } catch (err) {
      const reason = `order ${order.clientOrderId} not settled: ${errorMessage(err)}`;
      const earlier = unsettled.get(order.symbol);
      unsettled.set(order.symbol, earlier ? `${earlier}; ${reason}` : reason);
    }
  }
  return { cancelled, unsettled };
}

/** Lookups of a placed piece before close-all gives up waiting for it and leaves the rest to the operator. */
export const SETTLE_LOOKUPS = 3;

/**
 * The balance once every order is settled: read anew, since the tick's reading predates the fills synced since
 * (an entry filled this tick) and the coins our cancelled sells held. Null when it cannot be read (or not within
 * the read deadline, OperatorActions.closeAll): the positions are then sold whole, as before any balance was known (the exchange refuses what the account does not hold).
 */
async function balanceAfterSettling(deps: CloseAllDeps): Promise<Record<string, BalanceEntry> | null> {
  try {
    return await deps.exchange.fetchBalance();
  } catch (err) {
    deps.logger.warn('Close-all could not read the balance; positions are sold whole', {
      error: errorMessage(err),
    });
    return null;
  }
}

/**
 * Market-sells `held` of `symbol` in as many orders as the exchange's largest market order allows (sizeExitOrder: its
 * maximum amount and value, docs/exchanges.md; a holding a market order cannot sell whole on its own step or
 * minimum by one limit at the marketable price — at market what it can first where the symbol's last such limit went
 * unsold, `marketFirst`), each placed once the one before has filled (looked up where the
 * create answer does not say); the ids go to `placed`. A piece the exchange refuses as too large for its book
 * (`depthRefusal`) is placed again at once at half its size, and the rest goes in pieces of that size
 * (symbol-decision.ts `depthRefusedPiece`; `depthCap`: such a refusal before this close-all). Returns why part of it
 * was not sold (nothing sold at all, or an order that did not fill — refused at the smallest piece too: the rest is
 * left for the operator), or null.
 */
async function sellAll(
  { manager, orderBook, refresher }: Pick<CloseAllDeps, 'manager' | 'orderBook' | 'refresher'>,
  symbol: string,
  held: number,
  price: number,
  placed: string[],
  how: {
    ownerHeld: number | undefined;
    marketFirst: boolean;
    depthCap: number | undefined;
    depthRefusal: RegExp | undefined;
  },
): Promise<string | null> {
  const { ownerHeld, marketFirst, depthRefusal } = how;
  const market = orderBook.markets[symbol];
  let left = held;
  let orders = 0;
  let depthCap = how.depthCap;
  // bounded: a piece fills at once or the loop stops; each one sells at least one amount step, and a piece refused
  // for the book's depth is followed by a smaller one only
  for (;;) {
    // at market; a holding a market order cannot sell whole by one limit at the marketable price (sizeExitOrder),
    // unless such a limit of the symbol went unsold: then at market what a market order can first
    const size = sizeExitOrder(left, price, market, 'market', marketFirst, depthCap);
    if (!size.ok) return orders === 0 ? size.reason : null;
    let order = await manager.place({
      symbol,
      side: 'sell',
      type: size.type,
      amount: size.amount,
      price: size.limitPrice,
      purpose: 'close-all',
      reason: 'operator close-all',
      ownerHeld,
    });
    placed.push(order.clientOrderId);
    orders++;
    // where the create answer is an acknowledgement only (Bybit, OKX), the fill shows on a lookup: a market order
    // fills at once, so the next piece waits for a few lookups (no sleep: each is a round trip), not for a tick
    for (let i = 0; i < SETTLE_LOOKUPS && !isFinal(order.status); i++) {
      await refresher.refresh(order.clientOrderId);
      order = orderBook.order(order.clientOrderId) ?? order;
    }
    if (order.refused === true && depthRefusal?.test(order.error ?? '')) {
      // too large for the book now: half of it, at once, while a smaller piece exists
      const smaller = sizeExitOrder(left, price, market, 'market', marketFirst, order.amount / 2);
      if (smaller.ok && smaller.amount < order.amount) {
        depthCap = order.amount / 2;
        continue;
      }
    }
    if (order.status !== 'filled') {
      return `order ${order.clientOrderId} is ${order.status} (filled ${order.filled} of ${order.amount}): ${left - order.filled} ${symbol} left unsold, close-all again once it is settled`;
    }
    // what the piece took: its fill and a fee paid in the coin sold (Binance BNB fees on BNB pairs), never more
    // than the position left (the book counts both)
    const base = splitSymbol(symbol).base;
    const baseFees = order.fills.reduce((sum, f) => sum + (f.feeCurrency === base ? f.feeCost : 0), 0);
    left = Math.min(left - order.filled - baseFees, orderBook.positions()[symbol]?.amount ?? 0);
  }
}
