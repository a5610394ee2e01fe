/**
 * A cancel the exchange answers with a server-side failure (review 44c) — OKX 50026 "System error. Try again later"
 * (HTTP 500), 50001 "Service temporarily unavailable" (HTTP 503); Bybit 10016 "System error. Please try again later."
 * (HTTP 200) — says nothing of whether the cancel was carried out (the adapter's own rule for a create: "any HTTP 5xx
 * whatever its body … may have placed it"). The cancel is read back as for a lost answer (order-cancel.ts), and the
 * failure thrown only while the order still works. Before, it was thrown before any read: the order the exchange had
 * cancelled stayed `open` in state, and close-all reported its symbol "not settled" and sold nothing there.
 * Real engine, real ccxt, the local doubles; the double carries the cancel out, then answers the failure.
 */
import { expect } from 'chai';
import { bybitKit, okxKit } from '../../../harness/exchanges/exchange-kits';
import { ERRORS } from '../../../harness/exchanges/answers/okx';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type { FakeOkx } from '../../../harness/exchanges/fake-okx';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine } from '../../support/live-engine';

const BTC = 'BTC/USDT';

type Queue = (fake: LocalExchange) => void;

const CASES: Array<[ExchangeKit, string, Queue]> = [
  [
    okxKit,
    'okx 50026 "System error" (HTTP 500)',
    (fake) =>
      (fake as FakeOkx).faults.next('cancelOrder', { kind: 'taken-then-status', ...ERRORS.systemError }),
  ],
  [
    okxKit,
    'okx 50001 "Service temporarily unavailable" (HTTP 503)',
    (fake) =>
      (fake as FakeOkx).faults.next('cancelOrder', {
        kind: 'taken-then-status',
        ...ERRORS.serviceUnavailable,
      }),
  ],
  [
    bybitKit,
    'bybit 10016 "System error. Please try again later." (HTTP 200)',
    (fake) =>
      (fake as FakeBybit).faults.next('cancelOrder', {
        kind: 'taken-then-answer',
        status: 200,
        body: {
          retCode: 10016,
          retMsg: 'System error. Please try again later.',
          result: {},
          retExtInfo: {},
          time: Date.now(),
        },
      }),
  ],
];

describe('review 44c: a cancel answered with a server-side failure is read back (real ccxt, local doubles)', function () {
  this.timeout(40_000);
  let fake: LocalExchange | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  async function restingBuy(kit: ExchangeKit): Promise<string> {
    fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000 } });
    fake.pinPrice(BTC, 60_000);
    h = await startLiveEngine(kit, fake.url, {
      config: { trading: { mode: 'live', symbols: [BTC] } },
      strategy: new ScriptedStrategy(),
    });
    const order = await h.manager.place({
      symbol: BTC,
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price: 30_000,
      purpose: 'entry',
    });
    expect(order.status).to.equal('open');
    return order.clientOrderId;
  }

  for (const [kit, name, queue] of CASES) {
    it(`${name}, the cancel carried out: read back, settled cancelled`, async () => {
      const id = await restingBuy(kit);
      queue(fake!);
      const outcome = await h!.orders.canceller.cancel(id).then(
        (o) => o.status,
        (e: unknown) => `threw ${(e as Error).constructor.name}: ${(e as Error).message}`,
      );
      // the exchange did cancel it
      expect(fake!.orderClientIds()).to.include(id);
      expect(outcome).to.equal('cancelled');
      expect(h!.orderBook.order(id)!.status).to.equal('cancelled');
    });
  }
});
