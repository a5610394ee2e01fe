/**
 * A Bybit order's fee in every coin it was paid in. Bybit's order answers give a spot order's fee per coin
 * (`cumFeeDetail`: "Cumulative trading fee details instead of `cumExecFee`", order/order-list.mdx), and one order can
 * pay in two: with a makerFeeRate not positive, a maker Buy's fee is in the quote and a taker Buy's in the base ("Spot
 * Fee Currency Instruction", enum.mdx) — a limit buy that took part of the book and rested the rest. ccxt 4.5.84
 * (bybit.js parseOrder) keeps only the first coin of `cumFeeDetail`; the fee booked from the order's answer
 * (fills-from-order.ts feeOfRest) then missed the base fee, and the position exceeded what the account holds by it.
 * Real ccxt against the local Bybit double.
 */
import { expect } from 'chai';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { bybitKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import { closeAfterEach } from '../../support/close-after-each';
import { testCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';

describe("a Bybit order's fee in every coin of its cumFeeDetail", function () {
  this.timeout(20_000);
  let fake: FakeBybit | undefined;
  let ex: CcxtExchange | undefined;
  closeAfterEach(() => [ex, fake]);

  it('reads both coins of an order that paid a taker fee in the base and earned a maker rebate in the quote', async () => {
    fake = (await bybitKit.start({
      candleMs: 300,
      balances: { USDT: 10_000 },
      symbols: [BTC],
      makerFeeRate: -0.0005,
    })) as FakeBybit;
    fake.pinPrice(BTC, 60_000);
    ex = await testCcxtExchange(bybitKit, fake.url);
    await ex.loadMarkets(false, [BTC]);
    // a limit buy resting under the ask fills as a maker: its rebate in USDT
    const placed = await ex.createOrder({
      clientOrderId: 'fee-detail-1',
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      amount: 0.01,
      price: 60_000,
    });
    fake.pinPrice(BTC, 59_990);
    await ex.fetchBalance(); // any request lets the double match the resting order
    const order = fake.orders.find((o) => o.orderLinkId === 'fee-detail-1')!;
    expect(order.cumFeeDetail).to.deep.equal({ USDT: '-0.3' });
    // as the order answers when part of it took the book first: a taker's fee in BTC besides the rebate
    order.cumFeeDetail = { USDT: '-0.3', BTC: '0.000005' };
    const read = await ex.fetchOrder(placed.id, BTC);
    expect(read.fees).to.have.deep.members([
      { cost: 0.000005, currency: 'BTC' },
      { cost: -0.3, currency: 'USDT' },
    ]);
  });
});
