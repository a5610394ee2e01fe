import { setTimeout as sleep } from 'node:timers/promises';
/**
 * A symbol's trades since an unknown order's send (Exchange.fetchSymbolTrades, the evidence read before "never
 * placed": unknown-order-evidence.ts) through real ccxt against each verified exchange's double, the send days
 * before the trade (a long outage). Binance myTrades bounds startTime..endTime to 24 h and does not say how far a lone
 * startTime reads; Bybit execution/list reads the 7 days after a lone startTime (both doubles take that reading).
 * One read from the send found none of the trades since and called that complete: "no trade", and the order was
 * declared never placed while its trade stood. Now the span is read window by window up to now; a send older than
 * the windows read (or than OKX fills-history's 3 months) is answered not complete — never "no trade".
 */
import { expect } from 'chai';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { ExchangeKit, LocalExchange } from '../../../harness/exchanges/local-exchange';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { closeAfterEach } from '../../support/close-after-each';
import { kitCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const DAY_MS = 86_400_000;

function symbolTradesSuite(kit: ExchangeKit): void {
  const window = kit.profile.lists.tradesByTime;
  const reach = kit.profile.tradeHistoryReachMs;
  /** A send this long before the trade: three windows where the exchange bounds a read's span, else two days. */
  const sentBefore = window ? 3 * window.maxSpanMs : 2 * DAY_MS;
  /** A send older than the adapter reads: past 8 windows, or past the trade history's reach. */
  const tooOld = window ? 9 * window.maxSpanMs : reach! + DAY_MS;

  describe(`a symbol's trades since a send days before them (real ccxt, local ${kit.id})`, function () {
    this.timeout(30_000);
    let fake: LocalExchange | undefined;
    let exchange: CcxtExchange | undefined;
    closeAfterEach(() => [exchange, fake]);

    /** One market buy on the double, its trade listed. */
    async function bought(): Promise<{ orderId: string }> {
      const assets = kit.thirdCurrency ? { [kit.thirdCurrency.asset]: 10 } : {};
      fake = await kit.start({ candleMs: 300, balances: { USDT: 20_000, ...assets } });
      exchange = await kitCcxtExchange(kit, fake.url, { timeoutMs: 5_000 });
      const order = await exchange.createOrder({
        symbol: BTC,
        side: 'buy',
        type: 'market',
        amount: 0.003,
        clientOrderId: kit.id === 'binance' ? 'old-0' : 'old0',
      });
      for (let i = 0; i < 100 && fake.trades(BTC).length === 0; i++) await sleep(20);
      expect(fake.trades(BTC)).to.have.length.greaterThan(0);
      return { orderId: order.id };
    }

    it(`finds the trade of a send ${sentBefore / DAY_MS} days before it: complete, the order's trade in it`, async () => {
      const { orderId } = await bought();
      const read = await exchange!.fetchSymbolTrades(BTC, Date.now() - sentBefore);
      expect(read.trades.map((t) => t.orderId)).to.include(orderId);
      expect(read.complete).to.equal(true);
    });

    it(`a send ${tooOld / DAY_MS} days before now is not read whole: not complete, never "no trade"`, async () => {
      await bought();
      const read = await exchange!.fetchSymbolTrades(BTC, Date.now() - tooOld);
      expect(read.complete).to.equal(false);
    });
  });
}

for (const kit of EXCHANGE_KITS) symbolTradesSuite(kit);

describe("the Binance double's myTrades span, as Binance documents it (real ccxt)", function () {
  this.timeout(30_000);
  let fake: LocalExchange | undefined;
  let exchange: CcxtExchange | undefined;
  closeAfterEach(() => [exchange, fake]);

  it('refuses more than 24 hours between startTime and endTime (-1127); a lone startTime reads the 24 h after it', async () => {
    const kit = EXCHANGE_KITS.find((k) => k.id === 'binance')!;
    fake = await kit.start({ candleMs: 300, balances: { USDT: 20_000, BNB: 10 } });
    exchange = await kitCcxtExchange(kit, fake.url, { timeoutMs: 5_000 });
    await exchange.createOrder({
      symbol: BTC,
      side: 'buy',
      type: 'market',
      amount: 0.003,
      clientOrderId: 'w-0',
    });
    for (let i = 0; i < 100 && fake.trades(BTC).length === 0; i++) await sleep(20);
    const client = (
      exchange as unknown as { client: { fetchMyTrades: (...a: unknown[]) => Promise<unknown[]> } }
    ).client;
    const now = Date.now();
    let refused: unknown;
    await client
      .fetchMyTrades(BTC, undefined, 1000, { startTime: now - 2 * DAY_MS, endTime: now })
      .catch((err: unknown) => (refused = err));
    expect(String(refused)).to.match(/More than 24 hours between startTime and endTime/);
    expect(await client.fetchMyTrades(BTC, now - 2 * DAY_MS, 1000)).to.have.length(0);
    expect(await client.fetchMyTrades(BTC, now - DAY_MS / 2, 1000)).to.have.length.greaterThan(0);
  });
});
