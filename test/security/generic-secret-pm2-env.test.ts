/**
 * A secret set through the generic overlay (`BYNINJA__EXCHANGE__SECRET`, `BYNINJA__TELEGRAM__BOT_TOKEN`…), as an
 * operator who read "every setting has a BYNINJA__SECTION__KEY variable" might: the services refuse it (secrets only
 * from EXCHANGE_SECRET & co in .env) — but the ecosystem file must not have handed it to PM2 first, or it sits in
 * PM2's copy of the environment (`pm2 env`, `pm2 describe`, every bus packet) and, after `pm2 save`, in dump.pm2,
 * where no later start through the ecosystem removes it (PM2 keeps variables it is no longer given). filter_env
 * names the documented secret variables only, and the ecosystem passed every BYNINJA__ variable on by name.
 * Real PM2 in a temp PM2_HOME, the shipped ecosystem.config.js. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';

const SECRETS = {
  BYNINJA__EXCHANGE__SECRET: 'r34s-generic-exchange-secret-0123456789abcdef',
  BYNINJA__TELEGRAM__BOT_TOKEN: 'r34s-generic-bot-token-0123456789abcdef',
  // a whole section as JSON, one of its keys a secret (the overlay parses JSON values)
  BYNINJA__EXCHANGE: '{"passphrase":"r34s-generic-passphrase-0123456789abcdef"}',
};
const VALUES = [
  SECRETS.BYNINJA__EXCHANGE__SECRET,
  SECRETS.BYNINJA__TELEGRAM__BOT_TOKEN,
  'r34s-generic-passphrase-0123456789abcdef',
];

describe('a secret given as a BYNINJA__ variable never reaches PM2 (real PM2, shipped ecosystem) @slow', function () {
  this.timeout(90_000);
  let pm2: Pm2Harness;

  before(async () => {
    pm2 = Pm2Harness.create('bn-r34s-');
    await pm2.startEcosystem({ ...SECRETS, BYNINJA_IPC_PORT: String(await freePort()) });
    // both refuse their configuration (exit 78, not restarted): what they say is the operator's fix
    await eventually(
      () =>
        /unset BYNINJA__EXCHANGE__SECRET/.test(
          pm2.readLog('trading.err.log') + pm2.readLog('trading.out.log'),
        ),
      30_000,
      'trading names the variable to unset',
    );
    await pm2.pm2(['save']);
  });

  after(async () => {
    await pm2?.stop();
  });

  it('is in neither pm2 env, pm2 describe, pm2 jlist nor dump.pm2', async () => {
    const apps = await pm2.list();
    expect(apps.map((a) => a.name).sort()).to.deep.equal(['telegram', 'trading']);
    const seen: Record<string, string> = {
      'dump.pm2': fs.readFileSync(path.join(pm2.home, 'dump.pm2'), 'utf8'),
      jlist: await pm2.pm2(['jlist']),
    };
    for (const app of apps) {
      seen[`pm2 env ${app.name}`] = await pm2.pm2(['env', String(app.pm_id)]);
      seen[`pm2 describe ${app.name}`] = await pm2.pm2(['describe', app.name]);
    }
    for (const [where, text] of Object.entries(seen))
      for (const secret of VALUES) expect(text, where).not.to.include(secret);
  });

  it('the service still names the variable and the fix (the value masked)', () => {
    const log = pm2.readLog('trading.err.log') + pm2.readLog('trading.out.log');
    expect(log).to.match(
      /secrets only from the environment: set EXCHANGE_SECRET in \.env and unset BYNINJA__EXCHANGE__SECRET/,
    );
    for (const secret of VALUES) expect(log).not.to.include(secret);
  });
});
