/**
 * An API key the exchange refuses, for every verified exchange: real ccxt against the exchange's double, the key
 * deleted on the exchange (after a leak, or its IP allow-list changed) after a signed read succeeded — Binance -2015
 * (which ccxt's binance then reads as a temporary IP ban, DDoSProtection), Bybit 10003, OKX 50111. The adapter names
 * the refusal as the key's, with the settings to check (EXCHANGE_API_KEY / SECRET, and PASSWORD where the exchange has
 * one), the key's IP allow-list and its permission; nothing waits for a rate limit that is not there.
 */
import { expect } from 'chai';
import { OperationalError, type ByNinjaError } from '../../../src/shared/errors';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import type { EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { openLiveEngine, testCcxtExchange } from '../../support/live-engine';

const caught = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e as Error,
  );

for (const kit of EXCHANGE_KITS) {
  describe(`an API key refused by ${kit.profile.name}: real ccxt against its double`, function () {
    this.timeout(20_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    closeAfterEach(() => [h, fake]);

    it('deleted after a signed read worked: named as the key refused, the fix said, no rate-limit wait', async () => {
      fake = await kit.start({ balances: { USDT: 10_000 } });
      h = await openLiveEngine(kit, fake.url, {
        config: { trading: { mode: 'live', symbols: ['BTC/USDT'] } },
      });
      // a signed read succeeds first, as at every start (ccxt's binance reads a later -2015 as an IP ban then)
      await h.exchange.accountId();
      fake.rotateKey('rotated-key-0123456789abcdef', 'rotated-secret-0123456789abcdef');
      const refused = await caught(h.exchange.fetchBalance());
      // operational: a person must act (entries pause; a start waits and says so)
      expect(refused, refused.message).to.be.instanceOf(OperationalError);
      expect((refused as ByNinjaError).context.keyRefused).to.equal(true);
      const settings =
        kit.id === 'okx'
          ? 'EXCHANGE_API_KEY, EXCHANGE_SECRET and EXCHANGE_PASSWORD'
          : 'EXCHANGE_API_KEY and EXCHANGE_SECRET';
      expect(refused.message).to.include(`${kit.id} refuses the API key: check ${settings} in .env`);
      expect(refused.message).to.match(/IP allow-list .* spot trading permission/);
      // the exchange's own answer is quoted, the key is not
      expect(refused.message).to.match(/-2015|10003|50111/);
      expect(refused.message).not.to.include(kit.credentials.apiKey);
      expect(h.exchange.rateLimitedUntil?.()).to.equal(undefined);
    });

    it("the profile's key codes are the key's whatever ccxt's class and status (Binance's sapi reads -2015 OperationRejected)", async () => {
      fake = await kit.start({ balances: { USDT: 10_000 } });
      const exchange = await testCcxtExchange(kit, fake.url);
      try {
        const codes = exchange.profile?.keyRefusalCodes ?? [];
        expect(codes).to.have.length(kit.id === 'binance' ? 3 : kit.id === 'bybit' ? 4 : 5);
        for (const exchangeCode of codes) {
          const refusal = exchange.keyRefusal({ name: 'OperationRejected', httpStatus: 400, exchangeCode });
          expect(refusal?.text, exchangeCode).to.include('refuses the API key: check EXCHANGE_API_KEY');
        }
        // another refusal of the same class is not the key's
        expect(
          exchange.keyRefusal({ name: 'OperationRejected', httpStatus: 400, exchangeCode: '1' }),
        ).to.equal(undefined);
      } finally {
        await exchange.close();
      }
    });
  });
}
