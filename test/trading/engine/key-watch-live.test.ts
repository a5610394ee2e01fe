/**
 * The API key's own limits end to end, for every verified exchange: real ccxt reads the exchange double's key call
 * (Binance GET /sapi/v1/account/apiRestrictions, Bybit GET /v5/user/query-api, OKX GET /api/v5/account/config — each
 * double answers it as documented, signed and rate limited like its neighbours), KeyWatch judges it, tells through
 * the engine's event outbox and keeps what it told in its real file; after a key's end the double refuses as the
 * exchange documents, and the adapter names that refusal as the key's expiry.
 */
import { expect } from 'chai';
import { systemClock } from '../../../src/shared/clock';
import { ConfigError, PermissionDeniedError } from '../../../src/shared/errors';
import { KeyNoticeFile } from '../../../src/trading/engine/exchange-watch/key-notice-file';
import { KeyWatch } from '../../../src/trading/engine/exchange-watch/key-watch';
import { apiKeyFingerprint } from '../../../src/trading/exchange/ccxt-exchange';
import { EXCHANGE_KITS } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { openLiveEngine } from '../../support/live-engine';

const DAY = 86_400_000;
const ORDER = {
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'market',
  amount: 0.001,
  clientOrderId: 'botZkeyZ1',
} as const;
const caught = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e as Error,
  );
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const kit of EXCHANGE_KITS) {
  describe(`API key limits on ${kit.profile.name}: real ccxt against the documented key read`, function () {
    this.timeout(20_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    const watches: KeyWatch[] = [];
    closeAfterEach(() => [h, fake]);
    afterEach(() => watches.splice(0).forEach((w) => w.stop()));

    async function open(): Promise<EngineHarness> {
      fake = await kit.start({ balances: { USDT: 10_000 } });
      h = await openLiveEngine(kit, fake.url, {
        config: { trading: { mode: 'live', symbols: ['BTC/USDT'] } },
      });
      return h;
    }

    function watch(engine: EngineHarness, holdsOpen = false): KeyWatch {
      const w = new KeyWatch({
        exchange: engine.exchange,
        outbox: engine.orders.outbox,
        clock: systemClock,
        logger: silentLogger(),
        file: new KeyNoticeFile(engine.dir, engine.exchange.id, systemClock, silentLogger()),
        key: apiKeyFingerprint(kit.credentials.apiKey),
        startWaitMs: 5_000,
        holdsOpen: () => holdsOpen,
      });
      watches.push(w);
      return w;
    }

    const keyEvents = (engine: EngineHarness): Array<Record<string, unknown>> =>
      engine.events.filter((e) => e.type === 'api_key.limits').map((e) => e.data);

    it('a key that may withdraw: one warning, not repeated by a restart', async () => {
      const engine = await open();
      fake!.setKeyLimits({ withdraw: true, ipBound: true });
      await watch(engine).atStart();
      expect(keyEvents(engine).map((d) => d.notice)).to.deep.equal(['withdrawals']);
      expect(watches[0].status()).to.include({ spotTrade: true, withdraw: true, ipBound: true });
      // the next start reads the same key: told already (kept in the data dir)
      await watch(engine).atStart();
      expect(keyEvents(engine).map((d) => d.notice)).to.deep.equal(['withdrawals']);
    });

    it('a key that cannot trade spot refuses a start with nothing open, naming the fix', async () => {
      const engine = await open();
      fake!.setKeyLimits({ spotTrade: false, ipBound: true });
      const err = await watch(engine)
        .atStart()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as Error).message).to.match(/cannot place spot orders: enable spot trading on the key/);
      expect((err as Error).message).to.not.include(kit.credentials.apiKey);
    });

    it('with a position or an order open, the start goes on and the operator is told (error level)', async () => {
      const engine = await open();
      fake!.setKeyLimits({ spotTrade: false, ipBound: true });
      await watch(engine, true).atStart();
      const told = engine.events.filter((e) => e.type === 'api_key.limits');
      expect(told.map((e) => e.data.notice)).to.deep.equal(['cannot-trade']);
      expect(told[0].summary).to.match(/Trading goes on for the open positions and orders/);
      if (kit.id === 'okx') return; // the OKX double does not enforce the key's permissions
      // the exchange refuses its orders (Binance -2015, Bybit 10005): named as the key's, and no ban waited out —
      // after a signed call succeeded ccxt reads Binance's -2015 as a temporary IP ban (DDoSProtection)
      await engine.exchange.accountId();
      const refused = await caught(engine.exchange.createOrder(ORDER));
      expect(refused).to.be.instanceOf(PermissionDeniedError);
      expect((refused as PermissionDeniedError).context.keyCannotTrade).to.equal(true);
      expect(refused.message).to.match(
        /API key cannot place spot orders \(the exchange's key read says so\)/,
      );
      expect(engine.exchange.rateLimitedUntil?.()).to.equal(undefined);
    });

    if (kit.id === 'okx') {
      it('OKX tells no end: a key without an IP binding gets no expiry notice', async () => {
        const engine = await open();
        fake!.setKeyLimits({ ipBound: false });
        const w = watch(engine);
        await w.atStart();
        expect(keyEvents(engine)).to.deep.equal([]);
        expect(w.status()).to.include({ spotTrade: true, withdraw: false, ipBound: false });
        expect(w.status().expiresAt).to.equal(undefined);
      });
      return;
    }

    it("an end within days is told once; past it, the exchange's refusal is named as the key's expiry", async () => {
      const engine = await open();
      // the double's clock is the host's: an end 2 s away is "within 1 day"
      const end = Date.now() + 2_000;
      fake!.setKeyLimits({ expiresAt: end });
      await watch(engine).atStart();
      expect(keyEvents(engine).map((d) => [d.notice, d.days])).to.deep.equal([['expires', 1]]);
      // a signed account read succeeds first, as at every start (ccxt's binance reads a later -2015 differently then)
      await engine.exchange.accountId();
      await sleep(Math.max(0, end - Date.now()) + 200);
      const refused = await caught(engine.exchange.createOrder(ORDER));
      expect(refused).to.be.instanceOf(PermissionDeniedError);
      expect((refused as PermissionDeniedError).context.keyExpired).to.equal(true);
      expect((refused as Error).message).to.match(/API key expired at .*: trading stopped/);
      // a refusal the key's end explains is no rate limit (ccxt reads Binance's -2015 as DDoSProtection after a
      // signed call succeeded): nothing waits for a ban that is not there
      expect(engine.exchange.rateLimitedUntil?.()).to.equal(undefined);
      // the next look (a restart here): the end has passed, told once
      await watch(engine).atStart();
      expect(keyEvents(engine).map((d) => d.notice)).to.deep.equal(['expires', 'expired']);
      expect(engine.events.at(-1)?.summary).to.match(/trading stopped for that reason/);
    });

    it('a key bound to an IP tells no end', async () => {
      const engine = await open();
      fake!.setKeyLimits({ ipBound: true, expiresAt: null });
      const w = watch(engine);
      await w.atStart();
      expect(keyEvents(engine)).to.deep.equal([]);
      expect(w.status().expiresAt).to.equal(undefined);
      expect(w.status().readAt).to.be.greaterThan(Date.now() - DAY);
    });
  });
}
