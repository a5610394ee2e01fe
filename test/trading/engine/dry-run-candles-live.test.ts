/**
 * Dry-run mode reads a real exchange's candles and tickers (through real ccxt, here against the local Binance and
 * Bybit doubles) and fills on a paper account. The engine judges the candles' open times and the tickers' times on
 * the exchange's clock — but a paper account had none (its host clock), so the offset the ccxt source measured went
 * unused: with the host 2 minutes ahead, the candle still forming looked finished and the strategy decided on it
 * (review 45), and every ticker looked 2 minutes old. Real clock, as live-exchanges.suite.ts (see there why).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { configSchema } from '../../../src/shared/config/schema';
import { openDryRunExchange } from '../../../src/trading/exchange/dry-run-exchange';
import { binanceKit, bybitKit } from '../../../harness/exchanges/exchange-kits';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { EngineHarness, ScriptedStrategy } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import { formingCandlesSeen } from '../../support/live-engine';

for (const kit of [binanceKit, bybitKit]) {
  describe(`dry-run on ${kit.profile.name}: candles judged on the exchange's clock`, function () {
    this.timeout(20_000);
    let fake: LocalExchange | undefined;
    let h: EngineHarness | undefined;
    const dirs: string[] = [];
    closeAfterEach(() => [h, fake]);
    afterEach(() => {
      for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("never hands the strategy a candle still forming, the host clock 2 minutes ahead of the exchange's", async () => {
      const candleMs = 2_000;
      fake = await kit.start({ candleMs, balances: {} });
      fake.clockSkewMs = -120_000;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-dryrun-candles-'));
      dirs.push(dir);
      const url = fake.url;
      const strategy = new ScriptedStrategy();
      h = await EngineHarness.open({
        // a ticker older than a minute is stale: the exchange's dates it 2 minutes before the host's now
        config: {
          trading: { mode: 'dry-run', exchange: kit.id, symbols: ['BTC/USDT'], maxTickerAgeMs: 60_000 },
        },
        strategy,
        clock: systemClock,
        exchange: () =>
          openDryRunExchange({
            dataDir: dir,
            ccxt: { exchangeId: kit.id, apiUrl: url, profile: kit.profile, timeoutMs: 800 },
            settings: { ...configSchema().parse({}).trading.paper, latencyMs: 0 },
            periodMs: candleMs,
            timeframe: '1m',
            clock: systemClock,
          }),
      });
      const { asked, seen } = await formingCandlesSeen(h, strategy, candleMs, () => fake!.clockSkewMs);
      expect(asked).to.be.greaterThan(0);
      expect(seen).to.deep.equal([]);
      // and a ticker just read is no stale price: its time is the exchange's
      expect(h.exchange.clockOffsetMs?.()).to.be.closeTo(120_000, 1_000);
      expect(h.events.filter((e) => e.type === 'market.stale')).to.deep.equal([]);
    });
  });
}
