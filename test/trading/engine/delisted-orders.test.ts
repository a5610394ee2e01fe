/**
 * A symbol the exchange stops listing while an order of it is pending: the order is still brought up to date every
 * tick (the exchange ends it: cancelled at the delisting), so it does not hold a position slot for ever. The real
 * engine against the paper exchange (fake clock), whose markets leave the symbol out once delisted.
 */
import { expect } from 'chai';
import type { Market } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { SafeStrategy } from '../../../src/trading/strategy/safe-strategy';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { withOverrides } from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';

const BTC = 'BTC/USDT';
const ID = 'bot-tst000-1';

describe('orders of a symbol the exchange no longer lists (engine, paper exchange)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('are still settled every tick: an entry the exchange cancelled at the delisting ends, its slot freed', async () => {
    const delisted = { on: false };
    let paperRef: PaperExchange | undefined;
    const without = (markets: Record<string, Market>): Record<string, Market> =>
      Object.fromEntries(Object.entries(markets).filter(([s]) => !(delisted.on && s === BTC)));
    h = await EngineHarness.open({
      config: { trading: { risk: { stopLossPct: 0, takeProfitPct: 0 } } },
      strategy: new SafeStrategy(new ScriptedStrategy()),
      wrapExchange: (paper) => {
        paperRef = paper;
        return withOverrides(paper, {
          loadMarkets: (async (reload?: boolean) => without(await paperRef!.loadMarkets(reload))) as never,
        });
      },
    });
    await h.loop.recover({ kind: 'first-start' });
    h.loop.enterRunning();
    const price = (await h.paper.fetchTicker(BTC)).last;
    await h.manager.place({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      price: Math.round(price * 0.5),
      amount: 0.001,
      purpose: 'entry',
    });
    expect(h.orderBook.pendingOrders(BTC)).to.have.length(1);
    // delisted: the markets the engine holds leave it out, and the exchange cancels its resting orders
    delisted.on = true;
    h.orderBook.setMarkets(without(h.orderBook.markets));
    await h.paper.cancelOrder(h.orderBook.order(ID)!.exchangeOrderId!, BTC);
    await h.loop.tick();
    expect(h.orderBook.order(ID)!.status).to.equal('cancelled');
    expect(h.orderBook.pendingOrders(BTC)).to.deep.equal([]);
  });
});
