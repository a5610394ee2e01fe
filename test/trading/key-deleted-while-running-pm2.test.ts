/**
 * The API key deleted on the exchange — after a leak, or its IP allow-list changed — while trading runs live. Every
 * signed request is refused from then on (Binance -2015 "Invalid API-key, IP, or permissions for action.", Bybit
 * 10003, OKX 50111); a person must act (a new key in .env, a restart). The operator must be told that the key is
 * refused, not that the exchange is unreachable, and the log must say it once, not at every tick.
 *
 * Found in the field (review 31f): on Binance, ccxt reads a -2015 after a signed call once succeeded as a temporary
 * IP ban (binance.js handleErrors: `hasAlreadyAuthenticatedSuccessfully` → DDoSProtection), and ByNinja named a 401 as
 * the key's only when the key's known end had passed or its read said it could not trade: the refusal was taken for
 * a rate limit and the one alert said "Exchange binance unreachable … no answer from the exchange within 5000 ms";
 * on Bybit/OKX "Operational error; entries paused" was logged at every tick. Now every key refusal is the key's
 * (ccxt-exchange.ts keyRefusal) and a pause's cause is logged once (tick-error-handler.ts). Real trading daemon under
 * a real PM2, real ccxt, each exchange's double. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXCHANGE_KITS } from '../../harness/exchanges/exchange-kits';
import type { ExchangeKit, LocalExchange } from '../../harness/exchanges/local-exchange';
import { DAEMON_SCRIPTS, Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { liveDaemonEnv } from '../support/live-engine';

const IPC_TOKEN = 'key-deleted-ipc-token-0123456789ab';

interface LoggedEvent {
  seq: number;
  type: string;
  summary: string;
}

for (const kit of EXCHANGE_KITS) keyRevokedSuite(kit);

function keyRevokedSuite(kit: ExchangeKit): void {
  describe(`the API key deleted on ${kit.profile.name} while trading runs live, under real PM2 @slow`, function () {
    this.timeout(120_000);
    let pm2: Pm2Harness;
    let fake: LocalExchange;
    let seqAtRevoke = 0;
    let logAtRevoke = 0;
    let revokedAt = 0;

    const events = (): LoggedEvent[] => {
      const file = path.join(pm2.dataDir, 'events.jsonl');
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as LoggedEvent);
    };

    before(async () => {
      pm2 = Pm2Harness.create('bn-keydel-');
      fake = await kit.start({ candleMs: 400, balances: { USDT: 10_000 } });
      await pm2.startScript('trading', DAEMON_SCRIPTS.trading, {
        env: {
          ...liveDaemonEnv(kit, fake.url),
          BYNINJA_IPC_PORT: String(await freePort()),
          BYNINJA_IPC_TOKEN: IPC_TOKEN,
          BYNINJA__TRADING__TICK_INTERVAL_MS: '500',
          BYNINJA__TRADING__ORDERS__UNKNOWN_NOT_FOUND_WINDOW_MS: kit.id === 'okx' ? '35000' : '2000',
        },
      });
      await eventually(
        () => /✅ trading ready/.test(pm2.readLog('trading.out.log')),
        40_000,
        'trading ready',
        200,
      );
      // a few ticks with the key working
      await eventually(() => fake.requestCount('balance') >= 3, 30_000, 'balance read with the key', 200);
      seqAtRevoke = Math.max(0, ...events().map((e) => e.seq));
      // the key is deleted on the exchange (a leak): the account answers another key only
      logAtRevoke = pm2.readLog('trading.err.log').length;
      revokedAt = Date.now();
      fake.rotateKey('rotated-new-key-0123456789', 'rotated-new-secret-0123456789');
    });

    after(async () => {
      await pm2?.stop();
      await fake?.close();
    });

    it('tells the operator the API key is refused (an event naming the key), within a minute', async () => {
      let seen: LoggedEvent[] = [];
      try {
        await eventually(
          () => {
            seen = events().filter((e) => e.seq > seqAtRevoke);
            return seen.some((e) => /API[- ]?key|ACCESS-KEY/i.test(e.summary));
          },
          60_000,
          'an event naming the key',
          500,
        );
      } catch (err) {
        const log = pm2.readLog('trading.err.log').split('\n').slice(-6).join('\n');
        throw new Error(
          `${(err as Error).message}\nevents since: ${JSON.stringify(seen.map((e) => `${e.type}: ${e.summary}`))}\n${log}`,
          { cause: err },
        );
      }
    });

    it('says it in the log once, not at every tick while the key stays refused', async () => {
      // at least 20 s of the refused key (40 ticks): the same line (figures aside) at most 3 times
      await sleep(Math.max(0, revokedAt + 20_000 - Date.now()));
      const counts = new Map<string, number>();
      for (const line of pm2.readLog('trading.err.log').slice(logAtRevoke).split('\n')) {
        const text = /^\S+ (?:warn|error) (.*?)(?: \{.*)?$/.exec(line)?.[1];
        if (!text) continue;
        const same = text.replace(/\d+/g, 'N');
        counts.set(same, (counts.get(same) ?? 0) + 1);
      }
      const repeated = [...counts].filter(([, n]) => n > 3);
      expect(repeated, JSON.stringify(repeated)).to.deep.equal([]);
    });
  });
}
