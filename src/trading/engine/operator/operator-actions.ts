/**
 * The operator's actions on the engine, each run between ticks (loop-turns.ts): close-all (close-all.ts), reconcile
 * (reconcile.ts), settling an order in question on the operator's word (operator-settle.ts) and the list of those
 * orders, writing off a holding the bot cannot sell (operator-write-off.ts); and the shutdown option that cancels every open order. This file only times them against the ticks and
 * the symbols' lanes, and gives their exchange reads the read deadline; what each does is in its own file.
 */
import type { Clock } from '../../../shared/clock';
import type { Config } from '../../../shared/config/schema';
import { withDeadline } from '../../../shared/deadline';
import { NetworkError, errorMessage } from '../../../shared/errors';
import type { CloseAllResult, InDoubtOrderView, ReconcileDifference } from '../../../shared/ipc/protocol';
import type { Logger } from '../../../shared/logging/logger';
import type { Exchange } from '../../exchange/exchange';
import { closeAll } from './close-all';
import type { ExchangeReads } from '../exchange-watch/exchange-reads';
import type { InferredOrderWatch } from '../tick/inferred-orders';
import type { LoopTurns } from '../loop-turns';
import { settleOrder, type SettleDecision, type SettleRequest } from './operator-settle';
import { writeOffHolding, type WriteOffOutcome } from './operator-write-off';
import type { OrderCancel } from '../orders/order-cancel';
import type { OrderBook } from '../orders/order-book';
import type { OrderManager } from '../orders/order-manager';
import type { OrderAnswers } from '../orders/order-answers';
import type { OrderRecheck } from '../orders/order-recheck';
import type { OrderRefresh } from '../orders/order-refresh';
import { isFinal } from '../orders/order-state';
import type { PlacementFacts } from '../decide/placement-gate';
import { reconcileWithExchange, type ReconcileExchange } from '../start/reconcile';
import type { ShortfallWatch } from '../tick/shortfall-watch';
import type { StateGateway } from '../state/state-gateway';
import { RECHECK_LANE } from '../symbol-lanes';
import type { MarketRefresh } from '../start/market-refresh';
import type { PauseSource, PauseState } from '../state/trading-state';

/** How many read deadlines a reconcile may hold the ticks in all (OperatorActions.reconcile). */
export const RECONCILE_BUDGET_READS = 4;

export interface OperatorActionsOptions {
  /** Close-all's sells placed; the settle and reconcile skip a create still on its way. */
  manager: Pick<OrderManager, 'place' | 'isCreatePending'>;
  /** The orders and positions (order-book.ts). */
  orderBook: OrderBook;
  /** The state's gateway (the settle reads the order and commits it settled). */
  state: StateGateway;
  /** The exchange's answer applied (the settle's order found when asked once more). */
  answers: OrderAnswers;
  /** The settle asks the exchange once more, and takes back an order found (order-recheck.ts). */
  rechecks: OrderRecheck;
  /** An order brought up to date (close-all's finished orders and sells). */
  refresher: OrderRefresh;
  /** A working order cancelled (close-all, the stop's cancel of open orders). */
  canceller: OrderCancel;
  exchange: Exchange;
  config: Config['trading'];
  clock: Clock;
  exchangeClock: Clock;
  logger: Logger;
  reads: ExchangeReads;
  turns: LoopTurns;
  inferred: InferredOrderWatch;
  shortfalls: ShortfallWatch;
  lastPrices: Readonly<Record<string, number>>;
  symbolsToWatch: () => string[];
  /** The markets read again before a write-off (market-refresh.ts). */
  markets: Pick<MarketRefresh, 'reload'>;
  /** The symbol's placement facts as they are now (placement-facts.ts). */
  placementFacts: (symbol: string) => PlacementFacts;
  pauseEntries: (reason: string, by: PauseSource, takeOver: boolean) => Promise<PauseState>;
}

export class OperatorActions {
  constructor(private readonly opts: OperatorActionsOptions) {}

  /** Cancels every open order (shutdown option `orders.cancelOpenOnStop`). */
  async cancelOpenOrders(): Promise<string[]> {
    const cancelled: string[] = [];
    for (const order of this.opts.orderBook.pendingOrders()) {
      if (isFinal(order.status)) continue;
      try {
        await this.opts.canceller.cancel(order.clientOrderId);
        cancelled.push(order.clientOrderId);
      } catch (err) {
        this.opts.logger.warn('Could not cancel an open order on stop', {
          clientOrderId: order.clientOrderId,
          error: errorMessage(err),
        });
      }
    }
    return cancelled;
  }

  /** Orders that ended on our inference and are still in question, with what each holds (/settle lists them). */
  inDoubtOrders(): InDoubtOrderView[] {
    return this.opts.inferred.inQuestion();
  }

  /**
   * Settles an order that ended on our inference on the operator's word (operator-settle.ts), between ticks, holding
   * its symbol's lane and the recheck's: no tick or recheck takes it back meanwhile. Like close-all it waits for work
   * still running at most the lookup deadline, then refuses (try again) rather than keep the operator waiting.
   */
  settleOrder(req: SettleRequest): Promise<SettleDecision> {
    return this.opts.turns.afterBusyWork(async () => {
      const symbol = this.opts.orderBook.order(req.clientOrderId)?.symbol;
      const work = this.opts.turns.lanes.run([RECHECK_LANE, ...(symbol ? [symbol] : [])], () =>
        settleOrder(this.opts, req, this.opts.clock.now(), this.opts.exchangeClock.now()),
      );
      return (
        work ?? {
          ok: false,
          refusal: `${symbol ?? 'its symbol'} is busy with a lookup still running: try again in a minute`,
        }
      );
    });
  }

  /**
   * Writes off `symbol`'s holding the bot cannot sell on the operator's word (operator-write-off.ts), between ticks,
   * holding the symbol's lane: no tick places or syncs on it meanwhile. Waits for work still running like the settle.
   * The markets are read first: the daily load may be a day old, and a minimum lowered back or a symbol listed again
   * since makes the holding the bot's to sell (review 34w); without them nothing is written off.
   */
  writeOff(symbol: string): Promise<WriteOffOutcome> {
    return this.opts.turns.afterBusyWork(async () => {
      const work = this.opts.turns.lanes.run([symbol], async (): Promise<WriteOffOutcome> => {
        try {
          await this.opts.markets.reload(this.opts.symbolsToWatch);
        } catch (err) {
          this.opts.logger.warn('Markets not read for a write-off', { symbol, error: errorMessage(err) });
          return {
            ok: false,
            refusal: `could not read ${this.opts.exchange.id}'s markets, which decide whether the bot can still sell it: try again in a minute`,
          };
        }
        return writeOffHolding(this.opts, symbol, this.opts.clock.now(), this.opts.exchangeClock.now());
      });
      return (
        work ?? { ok: false, refusal: `${symbol} is busy with work still running: try again in a minute` }
      );
    });
  }

  /**
   * The operator's close-all (close-all.ts), run between ticks. It waits for the symbols' work still running from a
   * tick at most the lookup deadline (`symbolReadTimeoutMs`: a lookup is given up by then, so that work is mostly
   * done), then works holding the free symbols' lanes and leaves a symbol still busy alone — a create or cancel may be
   * in flight there — saying so in its reply.
   */
  closeAll(): Promise<CloseAllResult> {
    return this.opts.turns.afterBusyWork(() => {
      const lanes = this.opts.turns.lanes;
      const free = this.opts.symbolsToWatch().filter((symbol) => !lanes.busy(symbol));
      const run = (): Promise<CloseAllResult> =>
        closeAll({
          manager: this.opts.manager,
          orderBook: this.opts.orderBook,
          refresher: this.opts.refresher,
          canceller: this.opts.canceller,
          // its reads within the read deadline: ticks wait behind close-all, and their stop-losses with them
          exchange: {
            fetchTicker: (symbol) =>
              this.opts.reads.read(`close-all ${symbol}`, `ticker:${symbol}`, () =>
                this.opts.exchange.fetchTicker(symbol),
              ),
            // sent anew, never joined: the balance is read after the orders are settled
            fetchBalance: () =>
              this.opts.reads.withDeadline('close-all balance', this.opts.exchange.fetchBalance()),
            traits: this.opts.exchange.traits,
          },
          lastPrices: this.opts.lastPrices,
          shortfalls: this.opts.shortfalls,
          inferred: this.opts.inferred,
          placementFacts: this.opts.placementFacts,
          pauseEntries: this.opts.pauseEntries,
          busy: (symbol) => lanes.busy(symbol) && !free.includes(symbol),
          logger: this.opts.logger,
        });
      // the free lanes are taken in the same step they were found free: run() never refuses here
      return lanes.run(free, run) ?? run();
    });
  }

  /**
   * The operator's reconcile (reconcile.ts), between ticks once every lane is free (`serialize`). Ticks wait behind
   * it, and their stop-losses with them, so each of its reads has the read deadline (`symbolReadTimeoutMs`) and the
   * whole at most RECONCILE_BUDGET_READS of them (an exchange answering each read just in time): past either the
   * reply is an error (the operator asks again), and no further read is sent. It only reads — but for an order held
   * as rejected that the exchange works, taken back (reconcile.ts): reopened as unknown first, so one left half done
   * is resolved by the loop like any unknown order.
   */
  reconcile(): Promise<ReconcileDifference[]> {
    return this.opts.turns.serialize(() => {
      const budgetMs = this.opts.config.symbolReadTimeoutMs * RECONCILE_BUDGET_READS;
      let givenUp = false;
      const read = <T>(where: string, call: () => Promise<T>): Promise<T> =>
        givenUp
          ? Promise.reject(new NetworkError(`reconcile: given up after ${budgetMs} ms`, { where }))
          : this.opts.reads.withDeadline(`reconcile: ${where}`, call());
      const exchange: ReconcileExchange = {
        fetchOrder: (id, symbol, since) =>
          read(`order ${id}`, () => this.opts.exchange.fetchOrder(id, symbol, since)),
        fetchOrderByClientId: (id, symbol) =>
          read(`order ${id}`, () => this.opts.exchange.fetchOrderByClientId(id, symbol)),
        fetchOpenOrders: () => read('open orders', () => this.opts.exchange.fetchOpenOrders()),
        fetchBalance: () => read('balance', () => this.opts.exchange.fetchBalance()),
      };
      return withDeadline(
        reconcileWithExchange(
          { orderBook: this.opts.orderBook, manager: this.opts.manager, rechecks: this.opts.rechecks },
          exchange,
        ),
        budgetMs,
        () => {
          givenUp = true;
          return new NetworkError(
            `reconcile: the exchange's answers took longer than ${budgetMs} ms in all; ask again later`,
            { timeoutMs: budgetMs },
          );
        },
        this.opts.clock,
      );
    });
  }
}
