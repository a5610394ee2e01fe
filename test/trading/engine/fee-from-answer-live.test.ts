/**
 * Review 30: a buy whose fills are booked from the order's answer (fills-from-order.ts: the trade list never
 * brings them — OKX fills-history reaches 3 months, or the list keeps missing them) was booked with NO fee, though
 * OKX's and Bybit's order answers carry the order's accumulated fee (OKX `fee`/`feeCcy`, Bybit `cumFeeDetail`). On
 * a buy the fee was taken in the coin received, so the position was the GROSS amount while the bot held the net.
 * The owner already holds 1 BTC: the shortfall watch sees no shortfall (total ≥ position), `exitable` lets the exit
 * ask for the whole position, and the stop-loss sold the fee's worth of the owner's coins. Now the answer's fee is
 * booked (OKX, Bybit), or one estimated at the market's taker rate in the coin bought (Binance: its order read says
 * none) — `feeOfRest`.
 *
 * Real ccxt against the local OKX / Bybit / Binance doubles (fees in the coin received, as their docs say); the
 * adapter's trade read is made to bring nothing for the entry (as beyond OKX's fills-history reach; on Binance the
 * create answer's FULL fills are left out as well), and the engine's clock (not the adapter's: ccxt signs on its own)
 * is moved 11 minutes on so the fills are booked from the answer.
 */
import { expect } from 'chai';
import { systemClock, type Clock } from '../../../src/shared/clock';
import type { CreateOrderRequest, ExchangeTrade } from '../../../src/trading/exchange/exchange';
import { HOLD, type Signal } from '../../../src/trading/strategy/strategy';
import { binanceKit, bybitKit, okxKit } from '../../../harness/exchanges/exchange-kits';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy, TEST_INSTALL_ID } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { withOverrides } from '../../support/exchange-overrides';
import { testCcxtExchange, tickUntil } from '../../support/live-engine';
import { clientOrderIdFor } from '../../../src/trading/engine/state/trading-state';
import { FILLS_FROM_ORDER_AFTER_MS } from '../../../src/trading/engine/books/fills-from-order';

const BTC = 'BTC/USDT';
const ENTER: Signal = { action: 'enter-long', reason: 'test says buy' };

for (const kit of [okxKit, bybitKit, binanceKit] as ExchangeKit[]) {
  describe(`the fee of a buy booked from its answer (${kit.profile.name}): a buy booked from its answer, fee in the coin received`, function () {
    this.timeout(30_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    it("never sells the owner's coins when the stop-loss sells a position booked from the order's answer", async () => {
      fake = await kit.start({ candleMs: 300, balances: { USDT: 10_000, BTC: 1 } });
      let skew = 0;
      const clock: Clock = { ...systemClock, now: () => Date.now() + skew };
      let hide = true;
      const strategy = new ScriptedStrategy();
      h = await EngineHarness.open({
        clock,
        strategy,
        config: {
          trading: {
            mode: 'live',
            symbols: [BTC],
            risk: { stopLossPct: 2, takeProfitPct: 0 },
            orders: { unknownNotFoundMisses: 3, unknownNotFoundWindowMs: 1_000, createTimeoutMs: 800 },
          },
        },
        exchange: async () => {
          const adapter = await testCcxtExchange(kit, fake!.url);
          return withOverrides(adapter, {
            // Binance's create answer (FULL) carries the order's fills: left out, as when only the order is read
            createOrder: (async (req: CreateOrderRequest) => ({
              ...(await adapter.createOrder(req)),
              trades: undefined,
            })) as never,
            fetchOrder: (async (id: string, symbol: string, since?: number) => ({
              ...(await adapter.fetchOrder(id, symbol, since)),
              trades: undefined,
            })) as never,
            // the entry's trades are beyond what the trade list brings (OKX fills-history: 3 months)
            fetchOrderTrades: (async (orderId: string, symbol: string, since?: number) => {
              const trades: ExchangeTrade[] = await adapter.fetchOrderTrades(orderId, symbol, since);
              return hide ? [] : trades;
            }) as never,
          });
        },
      });
      await h.loop.recover({ kind: 'first-start' });
      h.loop.enterRunning();
      const entryId = clientOrderIdFor('bot', TEST_INSTALL_ID, 1, kit.profile.clientOrderId.separator);
      strategy.next = ENTER;
      await tickUntil(h, () => h!.orderBook.order(entryId)?.status === 'filled');
      strategy.next = HOLD;
      const bought = fake.trades(BTC).filter((t) => t.side === 'buy');
      expect(bought).to.have.length(1);
      // the double took the fee in BTC, the coin received
      expect(bought[0].feeAsset).to.equal('BTC');
      const net = bought[0].qty - bought[0].fee;
      expect(fake.balance('BTC')).to.be.closeTo(1 + net, 1e-9);

      // minutes later, still no trades: the fill is booked from the order's answer
      skew = FILLS_FROM_ORDER_AFTER_MS + 60_000;
      await tickUntil(h, () => (h!.orderBook.positions()[BTC]?.amount ?? 0) > 0);
      hide = false;
      const position = h.orderBook.positions()[BTC].amount;

      // the stop-loss: never below the owner's 1 BTC
      const entry = h.orderBook.order(entryId)!;
      fake.pinPrice(BTC, Number((entry.averagePrice! * 0.95).toFixed(2)));
      await tickUntil(h, () => fake!.trades(BTC).some((t) => t.side === 'sell'));
      for (let i = 0; i < 3; i++) await h.loop.tick();
      const sold = fake.trades(BTC).filter((t) => t.side === 'sell');
      expect(sold, 'one stop-loss sell').to.have.length(1);
      expect(
        fake.balance('BTC'),
        `the owner's 1 BTC (sold ${sold[0].qty} of the ${net} bought)`,
      ).to.be.at.least(1 - 1e-12);
      // the bot's position should be what it holds: the net amount (the answer says the fee)
      expect(position, 'position booked from the answer counts the fee').to.be.closeTo(net, 1e-9);
    });
  });
}
