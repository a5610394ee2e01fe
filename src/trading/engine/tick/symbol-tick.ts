/**
 * One symbol's work in a tick, on its own lane (the loop runs every symbol side by side): settle the symbol's
 * pending orders (an UNKNOWN create is looked up before anything else happens on it; a lookup has the read
 * deadline, and one that fails for now leaves its order as it was and the rest goes on), read its price within the
 * read deadline, and do what `decideSymbol` says — exits first (a firing stop-loss cancels what stands in its way,
 * then exits at market), expired limit orders cancelled, the strategy asked only when the placement gate allows an
 * order. At most one order is placed per symbol and tick. An exit asks for no more than the account holds, and a
 * confirmed shortfall (shortfall-watch.ts) is written off before the position is sold. A price the exchange serves
 * stale (ticker-age.ts: older than `maxTickerAgeMs` on the exchange's clock) places no entry; exits still go out
 * (docs/architecture.md "Stale prices" says why), and the operator is told once (stale-tickers.ts).
 */
import type { Config } from '../../../shared/config/schema';
import { errorMessage, isTemporary, type TemporaryError } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { Clock } from '../../../shared/clock';
import type { BalanceEntry, Candle, Exchange, Market } from '../../exchange/exchange';
import { roundToStep } from '../../exchange/precision';
import type { Strategy } from '../../strategy/strategy';
import type { ExchangeReads } from '../exchange-watch/exchange-reads';
import { changedNearRead, exitable, lockedBySells } from '../decide/held-balance';
import type { OnceLog } from '../log-once';
import { inDoubtEvent, readable } from '../orders/order-events';
import type { OrderCancel } from '../orders/order-cancel';
import type { EventOutbox } from '../state/event-outbox';
import type { OrderBook } from '../orders/order-book';
import type { OrderManager } from '../orders/order-manager';
import type { OrderRefresh } from '../orders/order-refresh';
import type { StateGateway } from '../state/state-gateway';
import type { HeldExit } from '../exchange-watch/market-halts';
import { averageEntryPrice, splitSymbol } from '../books/pnl';
import type { ExitOrder, ExitTrigger } from '../decide/risk';
import { readPlacementFacts } from '../decide/placement-facts';
import type { InferredOrderWatch } from './inferred-orders';
import type { ShortfallWatch } from './shortfall-watch';
import type { StaleTickers } from '../exchange-watch/stale-tickers';
import { tickerAge } from '../exchange-watch/ticker-age';
import {
  LIMIT_EXIT_TRIES,
  decideOnSignal,
  decideSymbol,
  signalCandles,
  standingExit,
} from '../decide/symbol-decision';

export interface SymbolTickOptions {
  /** Orders placed, write-ahead; the refusal at the door (placement facts). */
  manager: Pick<OrderManager, 'place' | 'placementRefusal'>;
  /** The symbol's orders, position and market (order-book.ts). */
  orderBook: OrderBook;
  /** A stop-loss/take-profit told (risk.triggered). */
  outbox: Pick<EventOutbox, 'emit'>;
  /** The candles seen, an exit lapsed and an order put in doubt, written (state-gateway.ts); the stored pause. */
  state: StateGateway;
  /** A symbol's pending orders brought up to date each tick (order-refresh.ts). */
  refresher: OrderRefresh;
  /** A decision's cancels (order-cancel.ts). */
  canceller: OrderCancel;
  exchange: Exchange;
  strategy: Strategy;
  config: Config['trading'];
  clock: Clock;
  /** The exchange's clock (TradingLoop.exchangeClock): what a candle's open time (the exchange's) is compared with. */
  exchangeClock: Clock;
  logger: Logger;
  reads: ExchangeReads;
  onceLog: OnceLog;
  /** The last price read of each symbol: written here, read by the account's equity and close-all. */
  lastPrices: Record<string, number>;
  /** A stop-loss/take-profit fires and the symbol's halt holds it (market-halts.ts tells the operator once). */
  exitHeld?: (held: HeldExit) => Promise<void>;
  /** The account's latest balance read (AccountWatch.balance), or null before the first. */
  balance: () => Readonly<Record<string, BalanceEntry>> | null;
  /** When that balance read was sent (AccountWatch.balanceSentAt, host time). */
  balanceSentAt: () => number;
  /** Shortfalls between the account and the positions: written off before a position is sold. */
  shortfalls: ShortfallWatch;
  /** Orders ended on our inference: the owner's holding each order carries, and the symbols they hold. */
  inferred: InferredOrderWatch;
  /** Symbols whose prices the exchange serves stale: the operator told once each way. */
  staleTickers: StaleTickers;
}

export class SymbolTick {
  private readonly manager: Pick<OrderManager, 'place'>;
  private readonly orderBook: OrderBook;
  private readonly exchange: Exchange;
  private readonly config: Config['trading'];
  private readonly clock: Clock;
  private readonly exchangeClock: Clock;
  private readonly logger: Logger;
  private readonly reads: ExchangeReads;
  private readonly onceLog: OnceLog;
  /**
   * The stop-loss/take-profit each symbol's operator was last told of (`risk.triggered`), by rule and position
   * (its opening time): an exit tried again (refused, on its backoff; a limit take-profit its time to live
   * cancelled; a position sold in pieces) is not a new alert each try (review 28: ~9 alerts in 10 minutes). Forgotten
   * once the symbol is asked its strategy again (no rule fires then): a later trigger is told.
   */
  private readonly toldRisk = new Map<string, string>();
  /**
   * The stop-loss/take-profit each symbol's operator was last told is held back by orders not the bot's (by rule and
   * position). Kept while the price leaves the rule's level and comes back (the owner's order still locks the coins:
   * nothing changed for the owner — review 34m, it was told again at each crossing); forgotten once the exit sells.
   */
  private readonly toldHeldBack = new Map<string, string>();
  /**
   * The symbols whose operator was told the stake is too small for a stop-loss to sell the position an entry would
   * buy (`entry.stake_too_small`): once per run while it lasts (each signal refused is one log line at debug after
   * the first), again after an entry on the symbol was made (the price rose, the minimum fell, the stake was raised).
   */
  private readonly toldStake = new Set<string>();
  private readonly lastPrices: Record<string, number>;

  constructor(private readonly opts: SymbolTickOptions) {
    this.manager = opts.manager;
    this.orderBook = opts.orderBook;
    this.exchange = opts.exchange;
    this.config = opts.config;
    this.clock = opts.clock;
    this.exchangeClock = opts.exchangeClock;
    this.logger = opts.logger;
    this.reads = opts.reads;
    this.onceLog = opts.onceLog;
    this.lastPrices = opts.lastPrices;
  }

  /** One symbol's work of a tick: settle its orders, read its price, do what decideSymbol says. */
  async run(symbol: string): Promise<void> {
    const market = this.orderBook.markets[symbol];
    if (!market) {
      this.onceLog.log(
        `market:${symbol}`,
        'error',
        'The exchange no longer lists this symbol; nothing placed',
        {
          symbol,
        },
      );
      await this.settleUnlisted(symbol);
      return;
    }
    const { failed, settledAbsent } = await this.settle(symbol);
    // an order settled from its fills when the exchange stopped showing it (absent-order.ts) is our inference: the
    // symbol decides nothing more on it this tick (a fill listed late would have the same coins sold twice), and
    // the next tick's reads see the account after it
    if (!settledAbsent) await this.decideAndAct(symbol, market);
    // reported once the rest has run (tick-errors.ts: retried next tick, the exchange's health told)
    if (failed !== undefined) throw failed;
  }

  /**
   * The symbol's pending orders brought up to date. A lookup that fails for now (no answer within its deadline, the
   * exchange down) leaves its order as it was — the placement gate still holds the symbol for it — and the rest of
   * the symbol's work runs, its stop-loss included: that failure is returned. Any other error is thrown. Also says
   * whether an order was settled as absent.
   */
  private async settle(symbol: string): Promise<{ failed?: TemporaryError; settledAbsent: boolean }> {
    let failed: TemporaryError | undefined;
    let settledAbsent = false;
    for (const order of this.orderBook.pendingOrders(symbol)) {
      try {
        await this.opts.refresher.refresh(order.clientOrderId);
        if (this.orderBook.order(order.clientOrderId)?.settledAbsent) settledAbsent = true;
      } catch (err) {
        if (!isTemporary(err)) throw err;
        failed ??= err;
      }
    }
    return { failed, settledAbsent };
  }

  /**
   * The pending orders of a symbol the exchange no longer lists: still brought up to date (one the exchange ended —
   * cancelled at the delisting — would hold a position slot for ever), but a read of them refused — ccxt refuses
   * every read of a symbol its markets no longer have, before any request — is no failure of the exchange (the loop
   * would report it unreachable every tick: review 29b): the order goes in doubt, the operator told once; the
   * exchange's own history settles it (/settle). A read that fails for now is tried again next tick.
   */
  private async settleUnlisted(symbol: string): Promise<void> {
    for (const order of this.orderBook.pendingOrders(symbol)) {
      try {
        await this.opts.refresher.refresh(order.clientOrderId);
      } catch (err) {
        if (isTemporary(err)) continue;
        const current = this.orderBook.order(order.clientOrderId);
        if (!current || current.inDoubtAt !== undefined) continue;
        this.logger.warn('An order of a symbol the exchange no longer lists cannot be read', {
          clientOrderId: current.clientOrderId,
          symbol,
          error: errorMessage(err),
        });
        await this.opts.state.commitInDoubt(
          current,
          inDoubtEvent(
            current,
            `cannot be read: the exchange no longer lists ${symbol} (${errorMessage(err)}); an exchange cancels ` +
              `the working orders of a symbol it delists`,
            { unlisted: true },
          ),
          this.clock.now(),
        );
      }
    }
  }

  /** Reads the symbol's price and does what decideSymbol says. */
  private async decideAndAct(symbol: string, market: Market): Promise<void> {
    const ticker = await this.reads.read(symbol, `ticker:${symbol}`, () => this.exchange.fetchTicker(symbol));
    const price = ticker.last;
    // judged on the exchange's clock: a host clock off it (measured, clock-skew.ts) is not read as old prices
    const age = tickerAge(ticker, this.exchangeClock.now(), this.config.maxTickerAgeMs);
    await this.opts.staleTickers.seen(symbol, age, this.clock.now());
    const stale = age.stale ? age.reason : undefined;
    this.lastPrices[symbol] = price;
    const facts = readPlacementFacts(this.opts, symbol);
    const position = this.orderBook.positions()[symbol];
    const decision = decideSymbol({
      symbol,
      market,
      price,
      position,
      facts,
      risk: this.config.risk,
      limitOrderTtlMs: this.config.orders.limitOrderTtlMs,
      orderType: this.config.orders.type,
      exitable: this.exitable(symbol, position?.amount ?? 0),
      shortfall: this.opts.shortfalls.shortfallOf(symbol) !== undefined,
    });
    switch (decision.kind) {
      case 'wait':
        // said again when what it waits for changes, not when only the price in the reason does
        this.onceLog.log(
          `wait:${symbol}`,
          'info',
          'Symbol waits',
          { symbol, reason: decision.reason },
          {
            // numbers standing alone (a price, a change in %), not the digits of an order id
            sameAs: decision.reason.replace(/(?<![\w-])-?\d[\d.,e+-]*/g, '#'),
          },
        );
        if (decision.heldByHalt) await this.exitHeld(symbol, decision.heldByHalt, price);
        if (decision.heldBack) await this.tellHeldBack(symbol, decision.heldBack, decision.reason, price);
        return;
      case 'cancel':
        this.logger.info('Cancelling orders', { symbol, orders: decision.orders, reason: decision.reason });
        for (const id of decision.orders) await this.opts.canceller.cancel(id);
        // the position the exit needs may be known now (cancelled, fills fetched): the next tick exits
        return;
      case 'exit': {
        this.toldHeldBack.delete(symbol);
        const told = `${decision.trigger.kind} ${position?.openedAt ?? ''}`;
        if (this.toldRisk.get(symbol) !== told) {
          this.toldRisk.set(symbol, told);
          await this.opts.outbox.emit(
            'risk.triggered',
            stale ? `${decision.reason} (on a stale price: ${stale})` : decision.reason,
            {
              symbol,
              rule: decision.trigger.kind,
              price,
              changePct: decision.trigger.changePct,
              ...(stale ? { stale } : {}),
            },
          );
        }
        await this.placeExit(symbol, decision, price, decision.trigger.kind, decision.reason);
        return;
      }
      case 'write-off':
        this.logger.warn('Exit fired on a position the account does not hold', {
          symbol,
          reason: decision.reason,
        });
        await this.opts.shortfalls.writeOffBeforeSale(symbol, price);
        return;
      case 'strategy':
        // no stop-loss or take-profit fires now: the next one that does is told again
        this.toldRisk.delete(symbol);
        await this.askStrategy(symbol, market, price, decision.inPosition, stale);
    }
  }

  private async askStrategy(
    symbol: string,
    market: Market,
    price: number,
    inPosition: boolean,
    /** Why the price is stale (no entry is placed on it), or undefined. */
    stale: string | undefined,
  ): Promise<void> {
    const strategy = this.opts.strategy;
    const key = `candles:${symbol}`;
    const reading = this.reads.read(symbol, key, () =>
      this.exchange.fetchCandles(symbol, this.config.timeframe, this.config.candleLimit),
    );
    // the answer speaks for when its request was sent (a joined one's may be older): a candle forming then is
    // forming in it, whenever the answer comes back
    const sentOnExchange = this.reads.sentAt(key) + (this.exchangeClock.now() - this.clock.now());
    const candles = await reading;
    const closed = closedCandles(candles, sentOnExchange);
    if (closed.length < strategy.minCandles) {
      // a market listed lately has fewer candles than the strategy needs (the configured read gives enough: the
      // start checks it, strategy/candle-needs.ts): said once, asked as soon as there are enough
      this.onceLog.log(`candles:${symbol}`, 'warn', 'Too few candles for the strategy: not asked yet', {
        symbol,
        needed: strategy.minCandles,
      });
      return;
    }
    const newest = closed[closed.length - 1][0];
    const periodMs = candlePeriod(closed);
    // the end of the newest closed candle the strategy saw (kept in the state: a restart does not act on it again;
    // a file from before it keeps the candle's open time, of this timeframe then)
    const { seenCandleEnds, seenCandles } = this.opts.state.data;
    const seenEnd =
      seenCandleEnds[symbol] ??
      (seenCandles[symbol] === undefined ? undefined : candleEnd(seenCandles[symbol], periodMs));
    let newCandles = newCandleCount(closed, seenEnd);
    // a strategy exit its time to live cancelled stands while the strategy, asked again over the candles since the
    // exit's signal, still says exit: placed again at the new price, never given up with the signal consumed
    const standing = inPosition
      ? standingExit(
          this.orderBook.hotOrders((o) => o.symbol === symbol),
          this.config.orders.limitOrderTtlMs,
        )
      : null;
    if (standing) {
      const sinceOnExchange = standing.since + (this.exchangeClock.now() - this.clock.now());
      newCandles = Math.max(newCandles, candlesSince(closed, sinceOnExchange));
    }
    if (newCandles === 0) return;
    newCandles = signalCandles(newCandles, inPosition, periodMs, this.config.tickIntervalMs);
    const signal = strategy.evaluate(closed, { symbol, inPosition, newCandles });
    if (standing && signal.action !== 'exit-long') {
      // asked over every candle since the exit's signal, the strategy no longer says exit: the exit lapses
      // (symbol-decision.ts standingExit), written with the next state write (a crash before it only asks again)
      const now = this.clock.now();
      this.opts.state.change((d) => {
        const kept = d.orders[standing.latest];
        if (kept) d.orders[standing.latest] = { ...kept, exitLapsedAt: now };
      });
    }
    // in memory at once: an order placed on this signal commits it with its intent (a crash after the order never
    // acts on the candle again); without one it is written within the store's debounce
    this.opts.state.change((d) => {
      // never back (a clock offset corrected backwards, a standing exit asked over older candles)
      const end = Math.max(d.seenCandleEnds[symbol] ?? 0, candleEnd(newest, periodMs));
      d.seenCandleEnds = { ...d.seenCandleEnds, [symbol]: end };
      // the open time too, for one release: a build from before the ends reads only it (a downgrade would act on
      // the candle again)
      d.seenCandles = { ...d.seenCandles, [symbol]: newest };
    });
    // the gate is asked on the facts as they are NOW, not as the tick found them: while the candles were read the
    // other symbols' lanes may have placed entries (each a position slot) and the operator may have paused or closed
    // all. From here to the order's intent (committed in `manager.place`'s synchronous first step) nothing is
    // awaited, so no other lane places in between: the answer holds when the order is placed.
    const facts = readPlacementFacts(this.opts, symbol);
    const position = this.orderBook.positions()[symbol];
    // a standing exit that missed LIMIT_EXIT_TRIES times goes at market (symbol-decision.ts says why)
    const orderType = standing && standing.tries >= LIMIT_EXIT_TRIES ? 'market' : this.config.orders.type;
    const decision = decideOnSignal({
      signal,
      inPosition,
      market,
      price,
      position,
      facts,
      stakePerTrade: this.config.risk.stakePerTrade,
      orderType,
      stopLossPct: this.config.risk.stopLossPct,
      exitable: this.exitable(symbol, position?.amount ?? 0),
    });
    if (decision.kind === 'none') {
      // logged once per reason (the signal's own words change every candle)
      if (decision.stakeTooSmall) {
        // the operator's to fix: a warning, once while it lasts (its figures move with the price)
        this.onceLog.log(
          `signal:${symbol}`,
          'warn',
          'Entry signal not followed: the stake is too small for a stop-loss to sell the position',
          { symbol, reason: decision.reason },
          { sameAs: 'stake-too-small' },
        );
        if (!this.toldStake.has(symbol)) {
          this.toldStake.add(symbol);
          await this.opts.outbox.emit(
            'entry.stake_too_small',
            `Entry signal on ${symbol} not followed: ${decision.reason}. Positions held keep their stop-loss.`,
            { symbol, price, stakePerTrade: this.config.risk.stakePerTrade },
          );
        }
      } else if (!decision.quiet) {
        this.onceLog.log(`signal:${symbol}`, 'info', `Signal ${signal.action} not followed`, {
          symbol,
          reason: decision.reason,
        });
      }
      return;
    }
    if (decision.kind === 'exit') {
      const reason = !standing
        ? signal.reason
        : standing.tries > 0
          ? `${signal.reason} (again: ${standing.tries} limit exit${standing.tries > 1 ? 's' : ''} not filled in time)`
          : `${signal.reason} (again: the last exit was held back unsent by the rate-limit gate)`;
      await this.placeExit(symbol, decision, price, 'exit', reason);
      return;
    }
    if (stale !== undefined) {
      // the signal is spent (its candle seen): an entry on a price that is not the market's is never placed late
      this.onceLog.log(`signal:${symbol}`, 'warn', 'Entry signal not followed: the price is stale', {
        symbol,
        reason: stale,
        signal: signal.reason,
      });
      return;
    }
    this.toldStake.delete(symbol);
    this.logger.info('Entry signal', { symbol, reason: signal.reason, amount: decision.amount, price });
    await this.manager.place({
      symbol,
      side: 'buy',
      type: this.config.orders.type,
      amount: decision.amount,
      price: this.config.orders.type === 'limit' ? roundToStep(price, market.priceStep) : undefined,
      purpose: 'entry',
      reason: signal.reason,
      ownerHeld: this.opts.inferred.ownerHeld(symbol),
    });
  }

  private async exitHeld(symbol: string, trigger: ExitTrigger, price: number): Promise<void> {
    const position = this.orderBook.positions()[symbol];
    if (!position || !this.opts.exitHeld) return;
    const entryPrice = averageEntryPrice(position);
    const pct = trigger.kind === 'stop-loss' ? -this.config.risk.stopLossPct : this.config.risk.takeProfitPct;
    await this.opts.exitHeld({
      symbol,
      trigger,
      price,
      entryPrice,
      amount: position.amount,
      triggerPrice: entryPrice * (1 + pct / 100),
    });
  }

  /**
   * A stop-loss/take-profit that fired and cannot sell because orders that are not the bot's lock the coins (the
   * owner's resting sell: the web UI's "sell all" takes the bot's coins with the owner's) waits for them — the bot
   * never cancels the owner's orders — and the owner, who can, is told once per position and rule (review 34o: it
   * waited with one info line while the position rode down). Coins gone rather than locked are the shortfall
   * watch's to tell. Judged only on a reading sent a not-found window after the symbol's last order change (the
   * shortfall watch's rule): a lagging read still shows what the bot's own exit locked right after the bot
   * cancelled it for this very stop-loss, and the owner was told to cancel orders of theirs that do not exist
   * (review 34m).
   */
  private async tellHeldBack(
    symbol: string,
    trigger: ExitTrigger,
    reason: string,
    price: number,
  ): Promise<void> {
    const sentAt = this.opts.balanceSentAt();
    const windowMs = this.config.orders.unknownNotFoundWindowMs;
    if (
      this.orderBook.hotOrders((o) => o.symbol === symbol && changedNearRead(o, sentAt, windowMs)).length > 0
    )
      return;
    const { base } = splitSymbol(symbol);
    const used = this.opts.balance()?.[base]?.used ?? 0;
    const locked = used - lockedBySells(this.orderBook.pendingOrders(symbol));
    if (!(locked > 0) || locked < (this.orderBook.markets[symbol]?.amountStep ?? 0)) return;
    const told = `${trigger.kind} ${this.orderBook.positions()[symbol]?.openedAt ?? ''}`;
    if (this.toldHeldBack.get(symbol) === told) return;
    this.toldHeldBack.set(symbol, told);
    await this.opts.outbox.emit(
      'risk.triggered',
      `${reason}. ${readable(locked)} ${base} are locked by orders that are not the bot's (yours, placed by hand ` +
        `or by another bot): cancel them on the exchange and the ${trigger.kind} sells as soon as the coins are free`,
      { symbol, rule: trigger.kind, price, changePct: trigger.changePct, lockedByOthers: locked },
    );
  }

  /** The most an exit of `symbol` may ask for now (held-balance.ts); undefined before any balance read. */
  private exitable(symbol: string, position: number): number | undefined {
    const balance = this.opts.balance();
    // nothing held: nothing to exit (and no per-symbol work on a tick without positions)
    if (!balance || !(position > 0)) return undefined;
    const { base } = splitSymbol(symbol);
    const held = balance[base] ?? { free: 0, used: 0, total: 0 };
    return exitable(position, held, lockedBySells(this.orderBook.pendingOrders(symbol)));
  }

  /** Places the exit `order` (risk.ts sizeExitOrder: its amount, type and a limit's price); `price` is the last. */
  private async placeExit(
    symbol: string,
    order: ExitOrder,
    price: number,
    purpose: 'exit' | 'stop-loss' | 'take-profit',
    reason: string,
  ): Promise<void> {
    const { amount, type, limitPrice } = order;
    // the part of the position the account does not hold leaves it first (a confirmed shortfall only)
    await this.opts.shortfalls.writeOffBeforeSale(symbol, price);
    this.logger.info('Exit signal', {
      symbol,
      purpose,
      reason,
      amount,
      price,
      ...(type === 'limit' ? { limitPrice } : {}),
    });
    await this.manager.place({
      symbol,
      side: 'sell',
      type,
      amount,
      price: type === 'limit' ? limitPrice : undefined,
      purpose,
      reason,
      ownerHeld: this.opts.inferred.ownerHeld(symbol),
    });
  }
}

/**
 * Candles without the one still forming (the newest, when its period has not ended at `now`: the EXCHANGE's now, as
 * the open times are its; a host clock ahead of it would take a forming candle for a finished one, and the
 * finished one would then never be seen). Where the exchange says which is forming (OKX `confirm`) the adapter has
 * left it out already.
 */
export function closedCandles(candles: readonly Candle[], now: number): Candle[] {
  if (candles.length < 2) return [...candles];
  const last = candles[candles.length - 1];
  return candleEnd(last[0], candlePeriod(candles)) > now ? candles.slice(0, -1) : [...candles];
}

/** The shortest calendar month: candles this far apart or more are month candles (Binance `1M`, Bybit `M`, OKX `1Mutc`). */
const MONTH_MS = 28 * 86_400_000;
/** A calendar month's mean length (365.2425 / 12 days): how many months a step of month candles spans. */
const MEAN_MONTH_MS = 30.436875 * 86_400_000;

/**
 * When the candle opened at `open` ends, its candles `period` apart (candlePeriod). A month candle opens on the 1st
 * of a UTC month and ends on the 1st of the next, 28 to 31 days later: the period read off the candles is the
 * shortest step, February's, and a 31-day month still forming looked finished from its 29th (review 45). A candle of
 * several months (OKX `3M`, sent as `3Mutc`: quarters, 89 to 92 days) ends as many calendar months after it opened:
 * taken as one month, the quarter still forming looked finished a month after it opened (review 45b).
 */
export function candleEnd(open: number, period: number): number {
  if (period >= MONTH_MS) {
    const at = new Date(open);
    if (at.getUTCDate() === 1 && open % 86_400_000 === 0) {
      const months = Math.max(1, Math.round(period / MEAN_MONTH_MS));
      return Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1);
    }
  }
  return open + period;
}

/**
 * The candles' period: the shortest step between two of them (a gap the exchange left — no trade in a candle on some
 * exchanges — is a longer one). 0 with fewer than two.
 */
export function candlePeriod(candles: readonly Candle[]): number {
  let period = Infinity;
  for (let i = 1; i < candles.length; i++) {
    const step = candles[i][0] - candles[i - 1][0];
    if (step > 0 && step < period) period = step;
  }
  return Number.isFinite(period) ? period : 0;
}

/**
 * How many of the closed candles are new to the strategy: those that end after `seenEnd` (the end of the newest one
 * it was asked on: a candle of another timeframe, after the operator changed it, counts by the data it holds —
 * a longer candle that began before the old one ended still holds data the strategy never saw). None seen yet (the
 * first start): only the newest.
 */
export function newCandleCount(closed: readonly Candle[], seenEnd: number | undefined): number {
  if (seenEnd === undefined) return 1;
  const period = candlePeriod(closed);
  return closed.filter((c) => candleEnd(c[0], period) > seenEnd).length;
}

/**
 * How many of the closed candles a signal given at `at` (the exchange's time) and everything after it span: the
 * candle that was the newest closed one at `at`, and every later one. All of them when `at` is before the oldest.
 */
export function candlesSince(closed: readonly Candle[], at: number): number {
  if (closed.length < 2) return closed.length;
  const period = candlePeriod(closed);
  let signal = -1;
  for (let i = 0; i < closed.length && candleEnd(closed[i][0], period) <= at; i++) signal = i;
  return signal < 0 ? closed.length : closed.length - signal;
}
