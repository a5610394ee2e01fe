/**
 * An OKX passphrase with a `#` put in `.env` unquoted (found in the field): OKX API passphrases are chosen by the
 * user and may hold special characters, and dotenv reads an unquoted value only up to its first `#` (the rest is a
 * comment). Before the fix every signed request was refused 50105 "OK-ACCESS-PASSPHRASE incorrect" and trading
 * waited for OKX for ever, while the .env line the operator read back was right; nothing said the value was cut.
 * Now such a secret line stops the start (exit 78) naming EXCHANGE_PASSWORD, the line and the quoting fix
 * (config/env-file-lines.ts), and docs/going-live.md shows the values quoted.
 *
 * Real trading daemon under a real PM2, real ccxt against the OKX double whose key has that passphrase. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { FakeOkx } from '../../harness/exchanges/fake-okx';
import { Pm2Harness } from '../../harness/pm2';
import type { CliRun } from '../support/cli';
import { startShippedTrading, statusOnceItSays, tradingLogs } from '../support/pm2-trading';

const KEY = 'okx-hash-key-0123456789';
const SECRET = 'okx-hash-secret-0123456789';
const PASSPHRASE = 'Tr4de#Bot-2026';
const IPC_TOKEN = 'okx-hash-ipc-token-0123456789abcdef';

describe('an OKX passphrase with a # in .env, unquoted as the docs show it, under real PM2 @slow', function () {
  this.timeout(90_000);
  let pm2: Pm2Harness;
  let fake: FakeOkx;
  let status: CliRun;

  before(async () => {
    pm2 = Pm2Harness.create('bn-okx-hash-');
    fake = await FakeOkx.start({
      apiKey: KEY,
      secret: SECRET,
      passphrase: PASSPHRASE,
      balances: { USDT: 10_000 },
    });
    fs.writeFileSync(
      path.join(pm2.root, '.env'),
      `EXCHANGE_API_KEY=${KEY}\nEXCHANGE_SECRET=${SECRET}\nEXCHANGE_PASSWORD=${PASSPHRASE}\n`,
      { mode: 0o600 },
    );
    const env = await startShippedTrading(
      pm2,
      {
        BYNINJA_MODE: 'live',
        BYNINJA__TRADING__EXCHANGE: 'okx',
        BYNINJA__TRADING__EXCHANGE_API_URL: fake.url,
        BYNINJA__TRADING__ORDERS__UNKNOWN_NOT_FOUND_WINDOW_MS: '35000',
      },
      IPC_TOKEN,
    );
    status = await statusOnceItSays(
      pm2,
      env,
      /waiting for|configuration error|positions/,
      'byninja status answers',
    );
  });

  after(async () => {
    await pm2?.stop();
    await fake?.close();
  });

  it('refuses the start (configuration error) naming EXCHANGE_PASSWORD, its .env line and the quoting fix', () => {
    expect(status.stdout, status.stdout).to.match(/stopped: configuration error — fix EXCHANGE_PASSWORD/);
    expect(status.stdout, status.stdout).to.include("Put the value in quotes (EXCHANGE_PASSWORD='…'");
    const logs = tradingLogs(pm2);
    expect(logs, logs.slice(-3000)).to.match(
      /EXCHANGE_PASSWORD.*line 3 holds a "#" outside quotes.*EXCHANGE_PASSWORD='…'/,
    );
    expect(fake.requests, 'no request sent with the cut passphrase').to.deep.equal([]);
  });

  it('never writes the passphrase, nor the part dotenv kept, to the logs or the status', () => {
    const seen = status.stdout + tradingLogs(pm2);
    expect(seen).not.to.include(PASSPHRASE);
    expect(seen).not.to.include(PASSPHRASE.split('#')[0]);
  });
});
