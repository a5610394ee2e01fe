/**
 * Startup recovery, run before `ready` and before any new order: bring state back in line with the exchange.
 *
 * 0. the clientOrderId sequence is raised past the history journal and past any id of this install among the
 *    exchange's recent orders (a state restored from an older copy must never send an id again);
 * 1. every `intent` and `unknown` order is looked up by clientOrderId (found → its state is applied; not found →
 *    one more miss: it becomes `rejected` only under the unknown-order rule, `judgeNotFound`; until then it stays
 *    unknown, its symbol places nothing, and the loop keeps looking — recovery does not wait for it);
 * 2. every other non-final order (and final ones with fills still missing) is brought up to date: those the
 *    exchange lists as open come from its one list of open orders (all symbols; their missing fills still
 *    fetched), the rest (filled or cancelled while down, or final with fills missing) are fetched one by one;
 * 3. an order state holds as rejected (refused on its create's answer, or declared never placed) that the exchange's
 *    open or recent orders show working or with fills is taken back from that answer, with an `order.taken_back`
 *    alert (one held refused within the last day that neither list shows is looked up by clientOrderId, once); an
 *    order rejected on our own inference (lookup found nothing) that the exchange has after all is taken
 *    back from its lookup (the loop keeps looking them up for a day: OrderRecheck.recheck);
 * 4. the exchange's open orders carrying our `<botId>-` prefix that state does not know are adopted, or
 *    cancelled when `orders.unknownOnStart` is `cancel` (and recorded either way, so their fills count); a newer
 *    order the recent list showed open but the open list no longer has (it finished in between) is adopted too;
 * 5. positions are recomputed from fills, and a `recovery` event tells what happened.
 *
 * On a live start with a NEW state (`newState`: none found, or one that never traded), before any of the steps
 * change it: the recent and open orders read are searched for orders of this bot sent by ANOTHER install
 * (hidden-state.ts); if there are any, the state that sent them is missing or hidden (a mount not up yet), and
 * `onHiddenState` pauses entries saying so — then the steps run as always (open ones adopted, watched, exited).
 *
 * The reads every start makes whatever the state holds — the recent orders of each symbol and the open orders of
 * all symbols — are independent of each other: they go out together, before the steps above, and the steps use
 * their answers (one round trip instead of one per read; the exchange adapter keeps them inside the exchange's
 * request budget). With markets kept from the last run they were sent earlier still, with the start's first reads
 * (recovery-reads.ts: `sent`). The open-orders answer serves both step 2 and step 4: the open orders have not
 * changed in between but for the exchange matching them, which the per-order reads and the loop see as they would
 * before.
 *
 * Temporary exchange errors (and whatever else the caller waits out) are retried with a capped backoff until they
 * pass or shutdown begins: trading must not run on state it could not check, nor exit because the exchange is away.
 */
import type { Clock } from '../../../shared/clock';
import type { Config } from '../../../shared/config/schema';
import { OrderNotFoundError, errorMessage } from '../../../shared/errors';
import { retryForever } from '../../../shared/retry';
import type { OrderStatus } from '../../../shared/domain/order';
import type { RecoverySummary } from '../../../shared/ipc/protocol';
import type { LastExit } from '../../../shared/lifecycle/last-exit';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange, ExchangeOrder } from '../../exchange/exchange';
import type { OrderAdoption } from '../orders/order-adoption';
import type { OrderAnswers } from '../orders/order-answers';
import type { OrderCancel } from '../orders/order-cancel';
import type { EventOutbox } from '../state/event-outbox';
import type { OrderBook } from '../orders/order-book';
import type { OrderManager } from '../orders/order-manager';
import type { OrderRecheck } from '../orders/order-recheck';
import type { OrderRefresh } from '../orders/order-refresh';
import { isFinal, needsExchange, type LocalOrder } from '../orders/order-state';
import { firstThen } from './connect-reads';
import { hiddenStateEvidence, type HiddenStateEvidence } from './hidden-state';
import { readTogether } from './read-together';
import { recoverySymbols, type RecoveryReads } from './recovery-reads';
import { heldRejectedButPlaced, refusedToLookUp } from '../orders/order-adoption';
import { RECHECK_HORIZON_MS } from '../orders/never-placed-recheck';
import type { StateGateway } from '../state/state-gateway';
import { isOwnClientOrderId, seqOf } from '../state/trading-state';

/** The order jobs recovery drives, each held directly (engine-parts.ts hands them out from the order manager). */
export interface RecoveryOrderJobs {
  adoption: Pick<OrderAdoption, 'adopt' | 'ensureSeqAtLeast'>;
  answers: Pick<OrderAnswers, 'apply' | 'upToDate'>;
  refresher: Pick<OrderRefresh, 'refresh'>;
  canceller: Pick<OrderCancel, 'cancel'>;
  rechecks: Pick<OrderRecheck, 'recheck' | 'takeBack'>;
}

export interface RecoveryOptions extends RecoveryOrderJobs {
  /** Old final orders archived once recovery is done. */
  manager: Pick<OrderManager, 'archive'>;
  /** The orders and positions, the history's seq bound (order-book.ts). */
  orderBook: OrderBook;
  /** Events left from before the crash published first; recovery's own told. */
  outbox: Pick<EventOutbox, 'drain' | 'emit'>;
  /** The state as it is in memory (its orders and id sequence, read only: the order jobs change it). */
  state: Pick<StateGateway, 'data'>;
  exchange: Exchange;
  /** Symbols traded (their recent orders bound the clientOrderId sequence). */
  symbols: readonly string[];
  lastExit: LastExit;
  unknownOnStart: Config['trading']['orders']['unknownOnStart'];
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  /** First wait after a failure it waits out (doubles up to 30 s). */
  retryBaseMs?: number;
  /** Which failures are waited out (default: temporary ones); anything else ends recovery. */
  waitable?: (err: unknown) => boolean;
  /** Called before each wait (the loop logs it and alerts once per outage). */
  onWait?: (what: string, error: unknown, delayMs: number) => void;
  /** The reads already sent (recovery-reads.ts), taken as their first attempts. */
  sent?: Pick<RecoveryReads, 'recent' | 'open'>;
  /** The state is new (hidden-state.ts `unconfirmedNewState`, live only): look for another install's orders. */
  newState?: boolean;
  /** Orders of another install seen on a new state: pauses entries (committed before recovery changes the state). */
  onHiddenState?: (evidence: HiddenStateEvidence) => Promise<void>;
}

export async function recoverTradingState(opts: RecoveryOptions): Promise<RecoverySummary> {
  const { manager, orderBook, outbox, state, exchange, clock, signal } = opts;
  const { adoption, answers, refresher, canceller, rechecks } = opts;
  const logger = opts.logger.child({ module: 'recovery' });
  const startedAt = clock.now();
  const before = tally(state.data.orders);
  const summary: RecoverySummary = {
    lastExit: opts.lastExit,
    restoredOrders: before.orders,
    restoredPositions: orderBook.openPositions().length,
    changedWhileDown: [],
    resolvedUnknown: [],
    adopted: [],
    cancelledUnknown: [],
    newFills: 0,
    durationMs: 0,
  };
  logger.info('Recovery started', {
    lastExit: opts.lastExit,
    orders: summary.restoredOrders,
    positions: summary.restoredPositions,
  });

  // the exchange must answer for every step: wait as long as it takes (capped backoff), never exit for it
  const withRetry = <T>(what: string, fn: () => Promise<T>, readSignal = signal): Promise<T> =>
    retryForever(fn, {
      baseDelayMs: opts.retryBaseMs ?? 500,
      maxDelayMs: 30_000,
      retryable: opts.waitable,
      signal: readSignal,
      clock,
      onRetry: ({ error, delayMs }) => {
        logger.warn(`Recovery: ${what} failed, retrying`, { error: errorMessage(error), retryInMs: delayMs });
        opts.onWait?.(what, error, delayMs);
      },
    });

  // the reads every start makes go out together now (unless already sent), while the local steps below run
  const symbols = recoverySymbols(opts.symbols, Object.values(state.data.orders));
  // A symbol the loaded markets no longer list (delisted; on Bybit also suspended: market-halts.ts) has no recent
  // orders to read: ccxt refuses the call before any request ("does not have market symbol"), and waiting for it held
  // every other symbol's recovery — trading never ready, no stop-loss anywhere — for as long as it stayed gone. Its
  // resting orders still come with the open-orders read; the markets watch tells the operator (market.halted,
  // position.unsellable). Before any markets are loaded nothing is taken for gone.
  const gone = (symbol: string): boolean =>
    Object.keys(orderBook.markets).length > 0 && orderBook.markets[symbol] === undefined;
  const recentOf = (symbol: string, s: AbortSignal): Promise<ExchangeOrder[]> => {
    const sent = opts.sent?.recent.get(symbol);
    if (gone(symbol)) {
      sent?.catch(() => undefined);
      logger.warn('Recovery: no recent orders read for a symbol the exchange no longer lists', { symbol });
      return Promise.resolve([]);
    }
    return withRetry(
      `fetch recent orders of ${symbol}`,
      firstThen(sent, () => (gone(symbol) ? Promise.resolve([]) : exchange.fetchRecentOrders(symbol))),
      s,
    );
  };
  const reads = readTogether(signal, [
    (s: AbortSignal) => Promise.all(symbols.map((symbol) => recentOf(symbol, s))),
    (s: AbortSignal) =>
      withRetry(
        'fetch open orders',
        firstThen(opts.sent?.open, () => exchange.fetchOpenOrders()),
        s,
      ),
  ] as const);
  // (awaited below; a failure meanwhile must not count as unhandled)
  reads.catch(() => undefined);

  // a new state on an account where another install of this bot traded: the pause is committed before any step
  // below changes the state (which would make it no longer new: a crash in between would trade on unpaused)
  if (opts.newState) {
    const [recent, open] = await reads;
    const evidence = hiddenStateEvidence(orderBook.botId, orderBook.installId, [...open, ...recent.flat()]);
    if (evidence) {
      summary.hiddenState = evidence;
      await opts.onHiddenState?.(evidence);
    }
  }

  // events the last run committed with their order change but did not get into the event log (it died in
  // between) go out first, before anything recovery itself reports
  const outboxPublished = await outbox.drain();
  if (outboxPublished > 0) {
    logger.warn('Recovery: published order events the last run committed but did not log', {
      events: outboxPublished,
    });
  }

  // The hot state may be behind its own history (restored from the previous generation, or deleted): the
  // sequence must never fall back to an id that was already sent.
  const historySeq = await orderBook.historySeq();
  if (await adoption.ensureSeqAtLeast(historySeq)) {
    logger.warn('Recovery: state sequence was behind the order history; raised it', { seq: historySeq });
  }
  // ...and behind the exchange itself: a state restored from a backup (same install id) has not seen the orders
  // sent after the copy was taken. Their ids are never sent again, and the orders themselves — filled ones too —
  // are taken into state, so the position is the exchange's.
  const [recentBySymbol, openOrders] = await reads;
  const stateSeq = state.data.seq;
  const newer: ExchangeOrder[] = [];
  for (const recent of recentBySymbol) {
    for (const remote of recent) {
      // one the state has is not newer: looked up before its id is parsed (most of them, every start)
      if (orderBook.order(remote.clientOrderId!)) continue;
      const seq = seqOf(remote.clientOrderId, orderBook.botId, orderBook.installId) ?? 0;
      if (seq > stateSeq) newer.push(remote);
      // (open ones among them are adopted or cancelled with every other unknown open order of ours, below)
    }
  }
  if (newer.length > 0) {
    const seq = Math.max(...newer.map((o) => seqOf(o.clientOrderId, orderBook.botId, orderBook.installId)!));
    await adoption.ensureSeqAtLeast(seq);
    summary.seqRaisedFromExchange = seq;
    logger.error(
      'Recovery: the exchange has orders of ours the state has not seen (restored from an older copy?)',
      {
        seq,
        orders: newer.map((o) => o.clientOrderId),
      },
    );
    const finished = newer.filter((o) => o.status !== 'open');
    // in the order they were sent (their seq), not by the exchange's times, which can go back
    const sentAs = (o: { clientOrderId?: string }): number =>
      seqOf(o.clientOrderId, orderBook.botId, orderBook.installId) ?? 0;
    for (const remote of finished.sort((a, b) => sentAs(a) - sentAs(b))) {
      const adopted = await withRetry(`adopt ${remote.clientOrderId}`, () => adoption.adopt(remote, seq));
      summary.adopted.push(adopted.clientOrderId);
    }
  }

  const pending = orderBook.pendingOrders();
  const openOnExchange = byOpenKey(openOrders);
  for (const order of pending) {
    const from: OrderStatus = order.status;
    let to: OrderStatus;
    try {
      const remote = knownOpen(order, openOnExchange);
      // the open list says what state says (most orders of every start): nothing to apply, no call to make
      if (remote && answers.upToDate(order.clientOrderId, remote)) continue;
      if (remote) {
        // the exchange's open-order list already answers for this order: apply it (fills missing from the
        // answer are still fetched by applyRemote) instead of one fetchOrder per order
        await withRetry(`apply ${order.clientOrderId}`, () => answers.apply(order.clientOrderId, remote));
        to = orderBook.order(order.clientOrderId)!.status;
      } else if (gone(order.symbol)) {
        // a symbol the exchange no longer lists: no read of the order can go out (ccxt refuses it), and retrying held
        // the whole recovery for as long as the symbol stayed gone; the order stays as it is, and the first tick
        // puts it in doubt and tells the operator, as for an order whose symbol goes while trading runs
        logger.warn('Recovery: an order of a symbol the exchange no longer lists is left for the loop', {
          clientOrderId: order.clientOrderId,
          symbol: order.symbol,
        });
        continue;
      } else {
        // intent/unknown (lookup by clientOrderId), or no longer open (filled or cancelled while down)
        ({ to } = await withRetry(`refresh ${order.clientOrderId}`, () =>
          refresher.refresh(order.clientOrderId),
        ));
      }
    } catch (err) {
      if (!(err instanceof OrderNotFoundError)) throw err;
      // an order the exchange placed, no longer shows, and that could not be settled from its fills yet
      // (absent-order.ts): it stays as it is; the loop tries again and pauses entries saying why
      logger.error('An order of ours is missing on the exchange and not settled yet', {
        clientOrderId: order.clientOrderId,
        status: from,
      });
      continue;
    }
    if ((from === 'intent' || from === 'unknown') && to !== 'intent' && to !== 'unknown') {
      summary.resolvedUnknown.push({ clientOrderId: order.clientOrderId, found: to !== 'rejected' });
    }
    if (to !== from) summary.changedWhileDown.push({ clientOrderId: order.clientOrderId, from, to });
  }

  // An order state holds as rejected — refused on its create's answer, declared never placed, rejected unsent — that
  // the exchange lists working or with fills (its open orders, or its recent ones: filled while trading was down) is
  // taken back from that answer: unless it is, it fills with no position and no stop-loss, and the next entry buys
  // again. The open list first (the newer answer for an order in both); an order state holds live is never touched.
  // Taken back once: a retry after the order was reopened only applies the answer again (no second alert).
  const takeBackHeld = async (held: LocalOrder, remote: ExchangeOrder, from: string): Promise<void> => {
    const id = held.clientOrderId;
    const after = await withRetry(`take back ${id}`, async () => {
      if (orderBook.order(id)?.status === 'rejected') return rechecks.takeBack(id, remote);
      await answers.apply(id, remote);
      return orderBook.order(id)!;
    });
    summary.changedWhileDown.push({ clientOrderId: id, from: 'rejected', to: after.status });
    logger.error(`An order of ours held as rejected is on the exchange; taken back from its ${from}`, {
      clientOrderId: id,
      refused: held.refused === true,
      status: after.status,
      filled: after.filled,
    });
  };
  const listedOrders = [...openOrders, ...recentBySymbol.flat()];
  for (const remote of listedOrders) {
    const held = remote.clientOrderId === undefined ? undefined : orderBook.order(remote.clientOrderId);
    if (held && heldRejectedButPlaced(held, remote)) await takeBackHeld(held, remote, 'listing');
  }
  // ...and one held refused that neither list showed (a finished one the recent orders read missed: Bybit's history
  // "may delay") is looked up by its clientOrderId, once, if refused within the last day (the lookups together):
  // found working or with fills → taken back the same way
  const listed = new Set(listedOrders.map((o) => o.clientOrderId));
  const now = clock.now();
  const refused = orderBook.hotOrders(
    (o) =>
      !listed.has(o.clientOrderId) &&
      refusedToLookUp(o, now, RECHECK_HORIZON_MS) &&
      orderBook.markets[o.symbol] !== undefined,
  );
  const found = await Promise.all(
    refused.map((held) =>
      withRetry(`look up ${held.clientOrderId}`, () =>
        exchange
          .fetchOrderByClientId(held.clientOrderId, held.symbol, held.createdAt)
          .catch((err: unknown) => {
            if (err instanceof OrderNotFoundError) return null;
            throw err;
          }),
      ),
    ),
  );
  for (const [i, held] of refused.entries()) {
    const remote = found[i];
    if (remote && heldRejectedButPlaced(held, remote)) await takeBackHeld(held, remote, 'lookup');
  }

  // An order we declared never placed (the lookup found nothing) that the exchange has after all — its create
  // arrived late, or the lookup read a lagging replica — is taken back: the exchange's answer wins, and its fills
  // count. Only our own inference is rechecked, never a refusal the exchange sent; the loop goes on looking them
  // up on a widening schedule for a day (the same call, never-placed-recheck.ts).
  const takenBack = await withRetry('look up orders declared never placed', () => rechecks.recheck('all'));
  summary.changedWhileDown.push(...takenBack);

  for (const remote of openOrders) {
    // ours by prefix, of this install or an earlier one (a lost data dir): every such order is accounted for
    if (
      orderBook.order(remote.clientOrderId!) ||
      !isOwnClientOrderId(remote.clientOrderId, orderBook.botId, orderBook.installId)
    )
      continue;
    const seq = seqOf(remote.clientOrderId, orderBook.botId, orderBook.installId) ?? 0;
    const adopted = await withRetry(`adopt ${remote.clientOrderId}`, () => adoption.adopt(remote, seq));
    if (opts.unknownOnStart === 'cancel') {
      await withRetry(`cancel ${adopted.clientOrderId}`, () => canceller.cancel(adopted.clientOrderId));
      summary.cancelledUnknown.push(adopted.clientOrderId);
      logger.warn('Cancelled an open order of ours that state did not know', {
        clientOrderId: adopted.clientOrderId,
      });
    } else {
      summary.adopted.push(adopted.clientOrderId);
      logger.warn('Adopted an open order of ours that state did not know', {
        clientOrderId: adopted.clientOrderId,
      });
    }
  }

  // a newer order the recent-orders list showed open that the open-orders list does not have: it finished between
  // the two reads. Adopted as the recent list saw it, so state has it and the loop's order sync applies how it ended
  // (its fills count; dropped, they were a position nobody knew of)
  const newerSeq = Math.max(
    0,
    ...newer.map((o) => seqOf(o.clientOrderId, orderBook.botId, orderBook.installId) ?? 0),
  );
  for (const remote of newer) {
    if (remote.status !== 'open' || orderBook.order(remote.clientOrderId!)) continue;
    const adopted = await withRetry(`adopt ${remote.clientOrderId}`, () => adoption.adopt(remote, newerSeq));
    summary.adopted.push(adopted.clientOrderId);
    logger.warn('Adopted an order of ours that finished while recovery read the exchange', {
      clientOrderId: adopted.clientOrderId,
    });
  }

  const stillUnknown = orderBook.hotOrders((o) => o.status === 'intent' || o.status === 'unknown');
  if (stillUnknown.length > 0) {
    summary.stillUnknown = stillUnknown.map((o) => o.clientOrderId);
    logger.warn('Recovery: orders whose create outcome is still unknown; their symbols wait for them', {
      orders: summary.stillUnknown,
    });
  }
  const after = tally(state.data.orders);
  summary.newFills = after.fills - before.fills;
  summary.restoredPositions = orderBook.openPositions().length;
  summary.openOrders = after.open;
  summary.durationMs = clock.now() - startedAt;
  // (moves only final orders with all their fills: none of them counted as open or pending)
  await manager.archive();
  logger.info('Recovery finished', {
    ...summary,
    lastExit: summary.lastExit.kind,
    pending: after.pending,
  });
  await outbox.emit('recovery', describeRecovery(summary), summary as unknown as Record<string, unknown>);
  return summary;
}

/**
 * The exchange's open orders (all symbols, one answer), by symbol then exchange order id (the later of one listed
 * twice). Two maps, not one keyed by the two joined: a key string built per order, here and per lookup, was ~2,000
 * strings made and hashed in a 1,000-order start.
 */
function byOpenKey(open: readonly ExchangeOrder[]): Map<string, Map<string, ExchangeOrder>> {
  const bySymbol = new Map<string, Map<string, ExchangeOrder>>();
  for (const remote of open) {
    let ofSymbol = bySymbol.get(remote.symbol);
    if (!ofSymbol) bySymbol.set(remote.symbol, (ofSymbol = new Map()));
    ofSymbol.set(remote.id, remote);
  }
  return bySymbol;
}

/** The exchange's open-list answer for `order`, when it is live locally and the exchange lists it as open. */
function knownOpen(
  order: LocalOrder,
  open: Map<string, Map<string, ExchangeOrder>>,
): ExchangeOrder | undefined {
  if (!liveOnExchange(order)) return undefined;
  const remote = open.get(order.symbol)?.get(order.exchangeOrderId!);
  return remote?.status === 'open' ? remote : undefined;
}

function liveOnExchange(order: LocalOrder): boolean {
  return (order.status === 'open' || order.status === 'partially_filled') && !!order.exchangeOrderId;
}

// counts need no order (hotOrders sorts): with 1,000 open orders each sort showed in the start's profile
/** The hot state's counts, in one pass over its orders (a pass per count showed in a 1,000-order start). */
function tally(orders: Readonly<Record<string, LocalOrder>>): {
  orders: number;
  open: number;
  pending: number;
  fills: number;
} {
  const counts = { orders: 0, open: 0, pending: 0, fills: 0 };
  for (const order of Object.values(orders)) {
    counts.orders++;
    counts.fills += order.fills.length;
    if (!isFinal(order.status)) counts.open++;
    if (needsExchange(order)) counts.pending++;
  }
  return counts;
}

/** The recovery event's summary line (pure). */
export function describeRecovery(s: RecoverySummary): string {
  const parts = [
    `Recovered after ${s.lastExit.kind}${s.lastExit.reason ? ` (${s.lastExit.reason})` : ''} in ${s.durationMs} ms`,
    `${plural(s.openOrders ?? s.restoredOrders, 'open order')}, ${plural(s.restoredPositions, 'open position')}`,
  ];
  if (s.changedWhileDown.length) parts.push(`${s.changedWhileDown.length} changed while down`);
  if (s.resolvedUnknown.length) {
    const found = s.resolvedUnknown.filter((r) => r.found).length;
    parts.push(
      `${s.resolvedUnknown.length} unknown resolved (${found} found, ${s.resolvedUnknown.length - found} never placed)`,
    );
  }
  if (s.stillUnknown?.length) parts.push(`${s.stillUnknown.length} still unknown (symbol waits)`);
  if (s.seqRaisedFromExchange)
    parts.push(`order ids raised past the exchange's (${s.seqRaisedFromExchange})`);
  if (s.adopted.length) parts.push(`${s.adopted.length} adopted`);
  if (s.cancelledUnknown.length) parts.push(`${s.cancelledUnknown.length} unknown cancelled`);
  if (s.newFills) parts.push(`${s.newFills} new fills`);
  if (s.hiddenState)
    parts.push(
      `new state, but ${plural(s.hiddenState.orders, 'order')} of another install seen: entries paused`,
    );
  return parts.join('; ');
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
