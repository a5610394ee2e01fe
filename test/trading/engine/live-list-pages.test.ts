/**
 * Lists read whole, for every verified exchange: the real engine through real ccxt against each exchange's local
 * double, whose lists page as its documentation says (page maximum, cursor, newest or oldest first). An order with
 * more fills than one page of the trade list, an own open order behind a page of the owner's manual orders, an own
 * finished order behind a page of newer ones: each was lost when a list was read as one page.
 *
 * Real clock, as in live-exchanges.suite.ts: real ccxt signs with Date.now() and the doubles check it.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimitError } from '../../../src/shared/errors';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import type { OrderSide, OrderType } from '../../../src/trading/exchange/exchange';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type {
  ExchangeKit,
  LocalExchange,
  LocalExchangeOptions,
} from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { kitCcxtExchange, startLiveEngine, tickUntil as tickUntilIn } from '../../support/live-engine';

const BTC = 'BTC/USDT';
for (const kit of EXCHANGE_KITS) listSuite(kit);

function listSuite(kit: ExchangeKit): void {
  const lists = kit.profile.lists;
  describe(`lists read whole on ${kit.profile.name}: every page, as the exchange documents its paging`, function () {
    this.timeout(90_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;

    closeAfterEach(() => [h, fake]);

    /** A live engine on real files through real ccxt; the owner already holds 1 BTC. */
    async function live(opts: Partial<LocalExchangeOptions> = {}): Promise<EngineHarness> {
      fake = await kit.start({ candleMs: 300, balances: { USDT: 20_000, BTC: 1 }, ...opts });
      h = await startLiveEngine(kit, fake.url, {
        config: {
          trading: {
            mode: 'live',
            symbols: [BTC],
            risk: { stopLossPct: 50, takeProfitPct: 0 },
            orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 5_000 },
          },
        },
        strategy: new ScriptedStrategy(),
        // 5 s (not 800 ms) a request, as the creates above: these tests are about whole lists of many pages, not
        // about a slow answer
        adapter: { timeoutMs: 5_000 },
      });
      h.manager.startAccepting();
      return h;
    }

    const tickUntil = (done: () => boolean, max = 100): Promise<void> => tickUntilIn(h!, done, max);

    /** The owner's own orders on the same account, sent by another client (ids that are not the bot's). */
    async function ownerOrders(
      count: number,
      spec: { side: OrderSide; type: OrderType; amount: number; price?: number },
    ): Promise<void> {
      const owner = await kitCcxtExchange(kit, fake!.url);
      try {
        for (let i = 0; i < count; i++) {
          for (;;) {
            try {
              await owner.createOrder({ symbol: BTC, ...spec, clientOrderId: `owner${spec.type}${i}` });
              break;
            } catch (err) {
              // the exchange's per-second order limit: the owner waits, like anyone would
              if (!(err instanceof RateLimitError)) throw err;
              await sleep(300);
            }
          }
        }
      } finally {
        await owner.close();
      }
    }

    /** The state file as it is now (to put back later), then an own limit buy resting at `factor` × the last price. */
    async function olderStateThenOwnLimitBuy(
      amount: number,
      factor: number,
    ): Promise<{ older: Buffer; price: number; own: LocalOrder }> {
      const older = fs.readFileSync(path.join(h!.dir, 'trading-state.json'));
      const price = (await h!.exchange.fetchTicker(BTC)).last;
      const own = await h!.manager.place({
        symbol: BTC,
        side: 'buy',
        type: 'limit',
        amount,
        price: Math.round(price * factor),
        purpose: 'entry',
      });
      expect(own.status, own.error).to.equal('open');
      return { older, price, own };
    }

    /** Closes the engine, puts back the state file as `older` had it, restarts and recovers. */
    async function restartFromOlderState(older: Buffer): Promise<string[]> {
      const stateFile = path.join(h!.dir, 'trading-state.json');
      await h!.close(false);
      fs.writeFileSync(stateFile, older);
      fs.rmSync(`${stateFile}.prev`, { force: true });
      h = await h!.restart();
      return (await h.loop.recover({ kind: 'clean' })).adopted;
    }

    const tradesPerPage = lists.trades?.perPage ?? 1;
    it(`books every fill of a market order that swept ${tradesPerPage + 1} makers (more than one page of its trades): position and fees right`, async () => {
      const parts = tradesPerPage + 1;
      await live({ marketFillParts: parts });
      const order = await h!.manager.place({
        symbol: BTC,
        side: 'buy',
        type: 'market',
        // at least one amount step (0.00001) per part
        amount: 0.03,
        purpose: 'entry',
      });
      await tickUntil(() => {
        const o = h!.orderBook.order(order.clientOrderId);
        return o?.status === 'filled' && o.fills.reduce((s, f) => s + f.amount, 0) >= o.filled - 1e-12;
      });
      const booked = h!.orderBook.order(order.clientOrderId)!;
      const traded = fake!.trades(BTC);
      expect(traded).to.have.length(parts);
      expect(booked.fills).to.have.length(parts);
      expect(new Set(booked.fills.map((f) => f.tradeId)).size).to.equal(parts);
      const fees = (xs: Array<{ fee: number }>): number => xs.reduce((s, x) => s + x.fee, 0);
      expect(booked.fills.reduce((s, f) => s + f.feeCost, 0)).to.be.closeTo(
        fees(traded.map((t) => ({ fee: t.fee }))),
        1e-9,
      );
      // the position is what the account holds beyond the owner's 1 BTC: every fill, net of base fees
      expect(h!.orderBook.positions()[BTC]?.amount ?? 0).to.be.closeTo(fake!.balance('BTC') - 1, 1e-9);
    });

    // Binance answers every open order of a symbol at once: one owner order in front is enough to check the read
    const inFrontOpen = lists.open ? lists.open.perPage : 3;
    it(`takes in its own open order behind ${inFrontOpen} newer open orders of the owner (a state restored from an older copy)`, async () => {
      await live();
      const { older, price, own } = await olderStateThenOwnLimitBuy(0.001, 0.5);
      await ownerOrders(inFrontOpen, {
        side: 'buy',
        type: 'limit',
        amount: 0.001,
        price: Math.round(price * 0.4),
      });
      const adopted = await restartFromOlderState(older);
      expect(adopted).to.include(own.clientOrderId);
      expect(h!.orderBook.order(own.clientOrderId)?.status).to.equal('open');
      // and reconcile finds no open order of ours the state lacks
      const ours = (await h!.exchange.fetchOpenOrders()).filter((o) => o.clientOrderId === own.clientOrderId);
      expect(ours).to.have.length(1);
    });

    it('takes in its own limit order cancelled after a partial fill, with its fill (a state restored from an older copy)', async () => {
      await live({ limitFillSlices: 2, matchIntervalMs: 60_000 });
      const { older, price, own } = await olderStateThenOwnLimitBuy(0.002, 0.9);
      // the price crosses it: one of its two slices fills (the next would come a minute later), then it is cancelled
      fake!.pinPrice(BTC, Math.round(price * 0.85));
      for (let i = 0; i < 50 && fake!.trades(BTC).length === 0; i++) {
        await h!.exchange.fetchTicker(BTC);
        await sleep(20);
      }
      expect(fake!.trades(BTC)).to.have.length(1);
      await h!.exchange.cancelOrder(own.exchangeOrderId!, BTC);
      const adopted = await restartFromOlderState(older);
      expect(adopted).to.include(own.clientOrderId);
      const taken = h!.orderBook.order(own.clientOrderId)!;
      expect(taken.status).to.equal('cancelled');
      expect(taken.fills).to.have.length(1);
      expect(h!.orderBook.positions()[BTC]?.amount ?? 0).to.be.closeTo(fake!.balance('BTC') - 1, 1e-12);
    });

    const finished = lists.finished;
    (finished ? it : it.skip)(
      `takes in its own filled order behind ${finished?.perPage ?? 0} newer finished orders of the owner`,
      async () => {
        await live();
        const older = fs.readFileSync(path.join(h!.dir, 'trading-state.json'));
        const own = await h!.manager.place({
          symbol: BTC,
          side: 'buy',
          type: 'market',
          amount: 0.001,
          purpose: 'entry',
        });
        await tickUntil(() => h!.orderBook.order(own.clientOrderId)?.status === 'filled');
        await ownerOrders(finished!.perPage, { side: 'buy', type: 'market', amount: 0.0002 });
        const adopted = await restartFromOlderState(older);
        expect(adopted).to.include(own.clientOrderId);
        expect(h!.orderBook.order(own.clientOrderId)).to.include({ status: 'filled', side: 'buy' });
        const fills = h!.orderBook.order(own.clientOrderId)!.fills;
        const held = fills.reduce((s, f) => s + f.amount - (f.feeCurrency === 'BTC' ? f.feeCost : 0), 0);
        expect(fills.length).to.be.greaterThan(0);
        expect(h!.orderBook.positions()[BTC]?.amount ?? 0).to.be.closeTo(held, 1e-12);
      },
    );
  });
}
