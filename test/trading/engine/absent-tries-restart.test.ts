/**
 * An acknowledged order the exchange no longer shows whose reads keep failing goes in doubt after a day of tries —
 * counted from the first failed try across restarts of the engine (the order keeps `absentTriesSince`): a bot
 * restarting more often than daily must not hold its symbol for ever without telling the operator. The real engine
 * against the paper exchange (fake clock), whose lookups hide the order and whose trade reads fail.
 */
import { expect } from 'chai';
import { NetworkError } from '../../../src/shared/errors';
import { RECHECK_HORIZON_MS } from '../../../src/trading/engine/orders/never-placed-recheck';
import type { TradingEvent } from '../../../src/shared/ipc/protocol';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { hiddenOrderReads } from '../../support/hidden-order';
import { closeAfterEach } from '../../support/close-after-each';

const ID = 'bot-tst000-1';
const HOUR = 3_600_000;

describe('an absent order whose reads keep failing, across restarts (engine, paper exchange)', function () {
  this.timeout(30_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);
  const hidden = { on: false };

  async function openHidden(): Promise<EngineHarness> {
    before.length = 0;
    let paperRef: PaperExchange | undefined;
    hidden.on = false;
    h = await EngineHarness.open({
      config: {
        trading: { risk: { stopLossPct: 0, takeProfitPct: 0 }, orders: { limitOrderTtlMs: 10 * 86_400_000 } },
      },
      strategy: new SafeStrategy(new ScriptedStrategy()),
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          traits: { ...paper.traits, tradeHistoryReachMs: undefined },
          ...hiddenOrderReads(paper, ID, hidden),
          fetchOrderTrades: (async (id: string, symbol: string) => {
            if (hidden.on) throw new NetworkError('connection reset', {});
            return paperRef!.fetchOrderTrades(id, symbol);
          }) as never,
        });
      },
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      price: Math.round(price * 0.5),
      amount: 0.001,
      purpose: 'entry',
    });
    hidden.on = true;
    return h;
  }

  /** Ticks over `ms` (a tick per half hour: past the backoff between tries). */
  async function runFor(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += HOUR / 2) {
      await h!.fakeClock().advance(HOUR / 2, HOUR / 2);
      await h!.loop.tick();
    }
  }

  /** The events of the engines closed by `restart`. */
  const before: TradingEvent[] = [];

  async function restart(): Promise<void> {
    before.push(...h!.events);
    h = await h!.restart();
    await h.loop.recover({ kind: 'crash' });
    h.loop.enterRunning();
  }

  it('goes in doubt a day after its first failed try though the engine restarts every 6 hours', async () => {
    await openHidden();
    await runFor(HOUR);
    const since = h!.orderBook.order(ID)!.absentTriesSince;
    expect(since, 'when the failed tries began, in the order').to.be.a('number');
    expect(h!.orderBook.order(ID)!.inDoubtAt).to.equal(undefined);
    // restarts every 6 hours until a day after the first failed try has passed
    while (h!.clock.now() - since! < RECHECK_HORIZON_MS + HOUR) {
      await restart();
      expect(h!.orderBook.order(ID)!.absentTriesSince, 'kept across the restart').to.equal(since);
      await runFor(6 * HOUR);
    }
    const order = h!.orderBook.order(ID)!;
    expect(order.status).to.equal('open');
    expect(order.inDoubtAt, 'in doubt after a day of failed tries').to.be.a('number');
    expect(order.inDoubtAt! - since!).to.be.at.least(RECHECK_HORIZON_MS);
    expect(h!.loop.inDoubtOrders().map((o) => [o.clientOrderId, o.ended])).to.deep.equal([[ID, 'absent']]);
    // told once, across restarts too
    const alerts = [...before, ...h!.events].filter((e) => e.type === 'order.in_doubt');
    expect(alerts.map((e) => e.data.clientOrderId)).to.deep.equal([ID]);
    expect(alerts[0].summary).to.match(/its open orders or fills could not be read/);
  });

  it('starts the day again once the order is found', async () => {
    await openHidden();
    await runFor(HOUR);
    expect(h!.orderBook.order(ID)!.absentTriesSince).to.be.a('number');
    hidden.on = false;
    await runFor(HOUR);
    expect(h!.orderBook.order(ID)!.absentTriesSince, 'found: the tries are over').to.equal(undefined);
    await restart();
    expect(h!.orderBook.order(ID)!.absentTriesSince).to.equal(undefined);
    expect(h!.orderBook.order(ID)!.inDoubtAt).to.equal(undefined);
  });
});
