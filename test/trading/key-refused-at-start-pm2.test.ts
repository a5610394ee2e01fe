/**
 * Wrong exchange credentials (found in the field, review 31f): a live start whose API key the exchange refuses (Binance
 * -2015, Bybit 10003, OKX 50111/50113), under a real PM2, with real ccxt against each exchange's local double. The
 * service must stay up without a crash loop, keep the key out of everything it shows, and tell the operator what is
 * wrong and what fixes it (the key in `.env`, its IP allow-list, its permissions) — not call a refusing exchange
 * "unreachable". @slow
 */
import { expect } from 'chai';
import { EXCHANGE_KITS } from '../../harness/exchanges/exchange-kits';
import type { ExchangeKit, LocalExchange } from '../../harness/exchanges/local-exchange';
import { Pm2Harness } from '../../harness/pm2';
import type { CliRun } from '../support/cli';
import { liveDaemonEnv } from '../support/live-engine';
import { startShippedTrading, statusOnceItSays, tradingLogs } from '../support/pm2-trading';

const IPC_TOKEN = 'key-refused-ipc-token-0123456789ab';
const WRONG_KEY = 'WRONGKEY0refusedkey0123456789abcdef';

for (const kit of EXCHANGE_KITS) keyRefusedSuite(kit);

function keyRefusedSuite(kit: ExchangeKit): void {
  describe(`a live start on ${kit.profile.name} whose API key is refused, under real PM2 @slow`, function () {
    this.timeout(90_000);
    let pm2: Pm2Harness;
    let fake: LocalExchange;
    let status: CliRun;

    before(async () => {
      pm2 = Pm2Harness.create('bn-keyref-');
      fake = await kit.start({ candleMs: 400, balances: { USDT: 10_000 } });
      const env = await startShippedTrading(
        pm2,
        { ...liveDaemonEnv(kit, fake.url), EXCHANGE_API_KEY: WRONG_KEY },
        IPC_TOKEN,
      );
      status = await statusOnceItSays(pm2, env, /waiting for/, 'byninja status says what trading waits for');
    });

    after(async () => {
      await pm2?.stop();
      await fake?.close();
    });

    it('stays online without a restart, and shows the key nowhere (sound)', async () => {
      const app = await pm2.info('trading');
      expect(app?.status).to.equal('online');
      expect(app?.restarts).to.equal(0);
      const logs = tradingLogs(pm2);
      expect(logs).to.match(/Waiting for/);
      expect(logs + status.stdout + status.stderr).not.to.include(WRONG_KEY);
    });

    it('names the fix: EXCHANGE_API_KEY (its IP allow-list, its permissions) in status and in the log', () => {
      const logs = tradingLogs(pm2);
      expect(status.stdout, status.stdout).to.include('EXCHANGE_API_KEY');
      expect(logs, logs).to.include('EXCHANGE_API_KEY');
    });

    it('does not call an exchange that answers and refuses the key "unreachable"', () => {
      expect(status.stdout, status.stdout).not.to.match(/unreachable/i);
    });
  });
}
