import { expect } from 'chai';
import type { Candle, CreateOrderRequest } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { isFinal, type LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { LIMIT_EXIT_TRIES } from '../../../src/trading/engine/decide/symbol-decision';
import { RateLimitError } from '../../../src/shared/errors';
import {
  HOLD,
  type Signal,
  type Strategy,
  type StrategyContext,
} from '../../../src/trading/strategy/strategy';
import { EngineHarness } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

/**
 * sma-crossover's exit contract on one candle: the cross down on candle X counts while X is among the new candles
 * (and the fast SMA is still below the slow one: `crossedBack` says it no longer is).
 */
class CrossDownOnce implements Strategy {
  readonly name = 'cross-down-once';
  readonly minCandles = 2;
  crossAt: number | undefined;
  crossedBack = false;
  evaluate(candles: readonly Candle[], ctx: StrategyContext): Signal {
    const newest = candles.slice(-Math.max(1, ctx.newCandles)).map((c) => c[0]);
    if (!ctx.inPosition) return HOLD;
    this.crossAt ??= newest[newest.length - 1];
    return newest.includes(this.crossAt) && !this.crossedBack
      ? { action: 'exit-long', reason: 'fast SMA crossed below slow' }
      : HOLD;
  }
}

/**
 * In limit mode a strategy exit that its time to live cancels (the market moved away from it) is not given up while
 * the position is open and the strategy still says exit (symbol-decision.ts `standingExit`).
 */
describe('a strategy exit in limit mode that its time to live cancels', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  /** The engine in limit mode whose limit sells rest above the market (never filled); a position open. */
  async function openWithPosition(strategy: Strategy, recentFinalKept?: number): Promise<EngineHarness> {
    let paper: PaperExchange | undefined;
    const opened = await EngineHarness.open({
      recentFinalKept,
      config: {
        trading: {
          risk: { stopLossPct: 0, takeProfitPct: 0 },
          orders: { type: 'limit', limitOrderTtlMs: 250 },
        },
      },
      strategy,
      wrapExchange: (p) => {
        paper = p;
        return withOverrides(p, {
          createOrder: ((r: CreateOrderRequest) =>
            paper!.createOrder(
              r.side === 'sell' && r.type === 'limit' ? { ...r, price: r.price! * 2 } : r,
            )) as never,
        });
      },
    });
    await opened.loop.recover({ kind: 'first-start' });
    opened.loop.enterRunning();
    await opened.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.001,
      purpose: 'entry',
    });
    expect(opened.orderBook.openPositions()).to.have.length(1);
    return opened;
  }

  const exits = (): LocalOrder[] => h!.orderBook.hotOrders((o) => o.purpose === 'exit');
  const isMissed = (o: LocalOrder): boolean => o.type === 'limit' && o.status === 'cancelled';

  it('is placed again at the new price, never two at once, and at market after the limit ones missed', async () => {
    h = await openWithPosition(new CrossDownOnce());
    let mostWorking = 0;
    for (let i = 0; i < 16 && h.orderBook.openPositions().length > 0; i++) {
      await h.nextCandle();
      await h.loop.tick();
      mostWorking = Math.max(mostWorking, exits().filter((o) => !isFinal(o.status)).length);
    }
    const seen = exits().map((o) => `${o.type}:${o.status}`);
    expect(seen).to.deep.equal([...Array<string>(LIMIT_EXIT_TRIES).fill('limit:cancelled'), 'market:filled']);
    expect(mostWorking, 'exits working at once').to.equal(1);
    expect(exits()[1].reason).to.match(/again: 1 limit exit not filled in time/);
    expect(h.orderBook.openPositions(), 'the position is exited').to.have.length(0);
    const limitPrices = exits()
      .filter((o) => o.type === 'limit')
      .map((o) => o.price);
    expect(new Set(limitPrices).size, `each at its own price: ${limitPrices.join(', ')}`).to.equal(
      LIMIT_EXIT_TRIES,
    );
  });

  it('still stands when the missed exits would be archived (other symbols finishing orders meanwhile)', async () => {
    // review of fix27: only the newest 20 finished orders stay hot; recentFinalKept 0 stands for 20 others
    h = await openWithPosition(new CrossDownOnce(), 0);
    const seen = new Map<string, string>();
    for (let i = 0; i < 16 && h.orderBook.openPositions().length > 0; i++) {
      await h.nextCandle();
      await h.loop.tick();
      for (const o of exits()) seen.set(o.clientOrderId, `${o.type}:${o.status}`);
    }
    expect(h.orderBook.openPositions(), 'the position is exited').to.have.length(0);
    // the market exit filled and went to the journal with the rest once the position was closed
    const journal = (await h.files.history.readAll()).map((e) => e.order);
    const exitsEver = new Map(
      [...journal, ...exits()].filter((o) => o.purpose === 'exit').map((o) => [o.clientOrderId, o]),
    );
    const inOrder = [...exitsEver.values()].sort((x, y) => x.createdAt - y.createdAt);
    expect(inOrder.map((o) => `${o.type}:${o.status}`)).to.deep.equal([
      ...Array<string>(LIMIT_EXIT_TRIES).fill('limit:cancelled'),
      'market:filled',
    ]);
    expect([...seen.values()].slice(0, LIMIT_EXIT_TRIES)).to.deep.equal(
      Array<string>(LIMIT_EXIT_TRIES).fill('limit:cancelled'),
    );
  });

  it('is not placed again once the strategy no longer says exit', async () => {
    const strategy = new CrossDownOnce();
    h = await openWithPosition(strategy);
    await h.nextCandle();
    await h.loop.tick();
    expect(exits(), 'exit placed on the cross').to.have.length(1);
    // the fast SMA is back above the slow one before the exit's time to live ends: the reason for it is gone
    strategy.crossedBack = true;
    for (let i = 0; i < 8; i++) {
      await h.nextCandle();
      await h.loop.tick();
    }
    expect(exits().map((o) => o.status)).to.deep.equal(['cancelled']);
    expect(h.orderBook.openPositions()).to.have.length(1);
  });

  it('counts its limit tries from none again after the strategy said hold between two exit signals', async () => {
    const strategy = new CrossDownOnce();
    h = await openWithPosition(strategy);
    // the first exit signal: its limit exits miss, one fewer than go at market
    for (let i = 0; i < 16 && exits().filter(isMissed).length < LIMIT_EXIT_TRIES - 1; i++) {
      await h.nextCandle();
      await h.loop.tick();
    }
    expect(exits().map((o) => `${o.type}:${o.status}`)).to.deep.equal(
      Array<string>(LIMIT_EXIT_TRIES - 1).fill('limit:cancelled'),
    );
    // the fast SMA back above the slow one: the strategy says hold, the exit lapses
    strategy.crossedBack = true;
    for (let i = 0; i < 4; i++) {
      await h.nextCandle();
      await h.loop.tick();
    }
    expect(exits().filter((o) => !isFinal(o.status))).to.deep.equal([]);
    // a new cross down, later: a new exit, limit first, its reason not "again"
    strategy.crossAt = undefined;
    strategy.crossedBack = false;
    await h.nextCandle();
    await h.loop.tick();
    const fresh = exits().filter((o) => !isFinal(o.status));
    expect(
      fresh.map((o) => o.type),
      'the new exit goes as a limit exit',
    ).to.deep.equal(['limit']);
    expect(fresh[0].reason).to.not.match(/again/);
    for (let i = 0; i < 16 && h.orderBook.openPositions().length > 0; i++) {
      await h.nextCandle();
      await h.loop.tick();
    }
    expect(exits().map((o) => `${o.type}:${o.status}`)).to.deep.equal([
      ...Array<string>(LIMIT_EXIT_TRIES - 1).fill('limit:cancelled'),
      ...Array<string>(LIMIT_EXIT_TRIES).fill('limit:cancelled'),
      'market:filled',
    ]);
  });

  it('a strategy exit the exchange refused (429) is placed again after the refusal cooldown (review of fix27)', async () => {
    let paper: PaperExchange | undefined;
    let refused = 0;
    h = await EngineHarness.open({
      config: {
        trading: { risk: { stopLossPct: 0, takeProfitPct: 0 }, orders: { rejectCooldownMs: 100 } },
      },
      strategy: new CrossDownOnce(),
      wrapExchange: (p) => {
        paper = p;
        return withOverrides(p, {
          createOrder: ((r: CreateOrderRequest) => {
            if (r.side === 'sell' && refused++ === 0) {
              return Promise.reject(new RateLimitError('429 Too Many Requests', {}, { retryAfterMs: 50 }));
            }
            return paper!.createOrder(r);
          }) as never,
        });
      },
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.001,
      purpose: 'entry',
    });
    for (let i = 0; i < 16 && h.orderBook.openPositions().length > 0; i++) {
      await h.nextCandle();
      await h.loop.tick();
    }
    expect(exits().map((o) => o.status)).to.deep.equal(['rejected', 'filled']);
    expect(h.orderBook.openPositions(), 'the position is exited').to.have.length(0);
  });
});
