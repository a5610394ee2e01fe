/**
 * A cancel given up at the lookup deadline (`trading.symbolReadTimeoutMs`), through real ccxt against each verified
 * exchange's local double (Bybit's and OKX's cancel answers only acknowledge and the adapter reads the order after
 * them, within the same deadline): a cancel whose answer is late or never comes holds its symbol's lane no longer
 * than a lookup would, so the symbol's own stop-loss follows as soon as the lookup after the cancel shows it done,
 * and the late answer changes nothing. Real clock, as in live-lanes.test.ts: real ccxt timeouts and a real HTTP
 * server are what make the cancel hang. ccxt's own timeout here is 20 s: without the deadline the cancel would hold
 * its symbol that long. Nothing is asserted on durations: what ran while the cancel was still unanswered is
 * recorded as it happens.
 */
import { expect } from 'chai';
import type { Signal } from '../../../src/trading/strategy/strategy';
import { HOLD } from '../../../src/trading/strategy/strategy';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { ExchangeKit, LocalExchange, LocalFault } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import {
  callsTo,
  recordCalls,
  requestOf,
  symbolOf,
  type RecordedCall,
} from '../../support/exchange-overrides';
import { closeAfterEach } from '../../support/close-after-each';
import { startLiveEngine, tickUntil } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const ETH = 'ETH/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

function cancelDeadlineSuite(kit: ExchangeKit): void {
  describe(`a cancel given up at the lookup deadline (real ccxt, local ${kit.id})`, function () {
    this.timeout(120_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    /**
     * The live engine on BTC and ETH (lookup deadline 1 s, ccxt's timeout 20 s), each with a limit entry a quarter
     * filled and still working (one slice of four a minute): a position and an order its stop-loss must cancel first.
     */
    async function twoWorkingEntries(): Promise<{
      engine: EngineHarness;
      calls: RecordedCall[];
      entries: Record<string, string>;
    }> {
      fake = await kit.start({
        candleMs: 300,
        balances: { USDT: 10_000 },
        limitFillSlices: 4,
        matchIntervalMs: 60_000,
      });
      const strategy = new ScriptedStrategy();
      let calls: RecordedCall[] = [];
      const engine = await startLiveEngine(kit, fake.url, {
        config: {
          trading: {
            mode: 'live',
            symbols: [BTC, ETH],
            symbolReadTimeoutMs: 1_000,
            risk: { stopLossPct: 2, takeProfitPct: 0 },
            orders: {
              unknownNotFoundMisses: 3,
              unknownNotFoundWindowMs: 1_000,
              createTimeoutMs: 20_000,
              type: 'limit',
            },
          },
        },
        strategy,
        // ccxt's timeout 20 s (the point: only the deadline gives the cancel up); a request window wider than the
        // cancel's 8 s delay: the exchange checks it when it carries the cancel out
        adapter: { timeoutMs: 20_000, profile: kit.withRecvWindow(20_000) },
        wrapAdapter: (exchange) => {
          const recorded = recordCalls(exchange);
          calls = recorded.calls;
          return recorded.exchange;
        },
      });
      h = engine;
      fake.pinPrice(BTC, 60_000);
      fake.pinPrice(ETH, 3_000);
      strategy.next = ENTER;
      const entry = (symbol: string) =>
        engine.orderBook.hotOrders().find((o) => o.symbol === symbol && o.side === 'buy');
      await tickUntil(engine, () => !!entry(BTC) && !!entry(ETH));
      strategy.next = HOLD;
      const entries: Record<string, string> = {};
      for (const symbol of [BTC, ETH]) {
        const order = entry(symbol)!;
        expect(order).to.include({ status: 'open', type: 'limit' });
        entries[symbol] = order.clientOrderId;
        // the price under the entry's limit: one slice of four fills, the next one a minute later
        fake.pinPrice(symbol, order.price! - 10);
      }
      const partly = (symbol: string) =>
        engine.orderBook.order(entries[symbol])!.status === 'partially_filled';
      await tickUntil(engine, () => partly(BTC) && partly(ETH));
      return { engine, calls, entries };
    }

    /** Both prices 5 % under their entries: each stop-loss fires, and its first step is the entry's cancel. */
    function dropBoth(engine: EngineHarness, entries: Record<string, string>): void {
      for (const symbol of [BTC, ETH]) {
        const price = engine.orderBook.order(entries[symbol])!.price!;
        fake!.pinPrice(symbol, Number((price * 0.95).toFixed(2)));
      }
    }

    const bought = (symbol: string): number =>
      fake!.trades(symbol).reduce((sum, t) => sum + (t.side === 'buy' ? t.qty : 0), 0);

    function cancelledEvents(engine: EngineHarness, clientOrderId: string): number {
      return engine.events.filter(
        (e) => e.type === 'order.cancelled' && e.data.clientOrderId === clientOrderId,
      ).length;
    }

    it('a cancel taken whose answer never comes: the order ends cancelled from the lookup after it, and both stop-losses sell while it still hangs', async () => {
      const { engine, calls, entries } = await twoWorkingEntries();
      fake!.fault('cancelOrder', { kind: 'taken-then-hang' }, ETH);
      dropBoth(engine, entries);
      const stopLoss = (symbol: string): boolean =>
        engine.orderBook.hotOrders().some((o) => o.symbol === symbol && o.purpose === 'stop-loss');
      await tickUntil(engine, () => stopLoss(BTC) && stopLoss(ETH));

      const ethCancel = callsTo(calls, 'cancelOrder').find((c) => symbolOf(c) === ETH)!;
      expect(ethCancel.done, "ETH's cancel answer never came").to.equal(false);
      const sells = callsTo(calls, 'createOrder').filter((c) => requestOf(c).side === 'sell');
      for (const symbol of [BTC, ETH]) {
        const sell = sells.find((c) => symbolOf(c) === symbol)!;
        // without the deadline ETH's lane waited for ccxt's 20 s timeout: ETH's sell only after the cancel had failed
        expect(sell.running, `${symbol}'s stop-loss sent while ETH's cancel still hung`).to.include(
          ethCancel,
        );
      }
      // the lookup after the cancel showed it carried out: cancelled with what it had filled, told once
      const eth = engine.orderBook.order(entries[ETH])!;
      expect(eth.status).to.equal('cancelled');
      expect(eth.filled).to.be.closeTo(bought(ETH), 1e-9);
      expect(eth.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(bought(ETH), 1e-9);
      expect(cancelledEvents(engine, entries[ETH])).to.equal(1);
      expect(fake!.requestCount('cancelOrder'), 'one cancel each').to.equal(2);
    });

    it('a cancel answered after the deadline: the order stays working meanwhile, no second cancel is sent, and the late answer changes nothing', async () => {
      const { engine, calls, entries } = await twoWorkingEntries();
      // the exchange carries the cancel out and answers 8 s after it gets there (the deadline is 1 s)
      const late: LocalFault = { kind: 'delay', ms: 8_000 };
      fake!.fault('cancelOrder', late, ETH);
      const ethPrice = engine.orderBook.order(entries[ETH])!.price!;
      fake!.pinPrice(ETH, Number((ethPrice * 0.95).toFixed(2)));
      await tickUntil(engine, () => callsTo(calls, 'cancelOrder').some((c) => symbolOf(c) === ETH));
      const ethCancel = callsTo(calls, 'cancelOrder').find((c) => symbolOf(c) === ETH)!;

      // ticks go on while the cancel is out: ETH's order is looked up again (its lane not held by the cancel), and is
      // never taken as cancelled while the exchange has not said so; the answer arrives after the ticks moved on
      const whileOut: string[] = [];
      await tickUntil(
        engine,
        () => {
          if (!ethCancel.done) whileOut.push(engine.orderBook.order(entries[ETH])!.status);
          return ethCancel.done;
        },
        200,
      );
      expect(
        callsTo(calls, 'fetchOrder', 'fetchOrderByClientId').some(
          (l) => symbolOf(l) === ETH && l.running.includes(ethCancel),
        ),
        "ETH's order looked up while its cancel was still on its way",
      ).to.equal(true);
      expect(whileOut, 'ticks ran while the cancel was out').to.not.deep.equal([]);
      expect([...new Set(whileOut)], 'not assumed cancelled').to.deep.equal(['partially_filled']);
      expect(
        callsTo(calls, 'cancelOrder').filter((c) => symbolOf(c) === ETH),
        'the later ticks joined the cancel on its way: no second request',
      ).to.have.length(1);

      // the next lookup settles the order, and the stop-loss sells
      const stopLoss = (): boolean =>
        engine.orderBook.hotOrders().some((o) => o.symbol === ETH && o.purpose === 'stop-loss');
      await tickUntil(engine, stopLoss);
      const eth = engine.orderBook.order(entries[ETH])!;
      expect(eth.status).to.equal('cancelled');
      expect(eth.filled).to.be.closeTo(bought(ETH), 1e-9);
      expect(eth.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(bought(ETH), 1e-9);
      expect(cancelledEvents(engine, entries[ETH])).to.equal(1);
      expect(fake!.requestCount('cancelOrder'), 'ETH cancelled once').to.equal(1);
    });
  });
}

for (const kit of EXCHANGE_KITS) cancelDeadlineSuite(kit);
