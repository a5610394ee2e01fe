/**
 * Server restart: the pair runs under a real PM2 from the real ecosystem file with state on
 * disk, `pm2 save` was done; then the server loses power — the PM2 daemon and both services die by SIGKILL at once —
 * and stays down a while; at boot `pm2 resurrect` (what `pm2 startup` installs) brings the pair back, with no secret
 * in the shell that runs it (a boot). Trading must recover its positions from disk and the operator must learn what
 * happened: that the server was down, and for how long (the positions went unwatched all that time).
 *
 * A killed run leaves no time of death; taking it to be when the next run noticed it is true for a PM2 restart right
 * after a SIGKILL but not here, where the services were down for the whole outage ("killed … (64 ms ago)" until the
 * watchdog kept a last sign of life: last-exit.ts). The boot id does not change in a test, so this is the same-boot
 * path (PM2 itself killed); the boot-id path is in last-exit.test.ts. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pm2Harness, eventually } from '../../../harness/pm2';
import { freePort } from '../../../harness/ports';

/** How long the server stays off (a lower bound of the real outage: the test waits at least this long). */
const DOWN_MS = 6_000;
const SECRETS = {
  EXCHANGE_API_KEY: 'r31f-exchange-key-0123456789abcdef',
  EXCHANGE_SECRET: 'r31f-exchange-secret-0123456789abcdef',
  BYNINJA_IPC_TOKEN: 'r31f-ipc-token-0123456789abcdef0123',
};

/** "56 ms", "4.2 s", "3 min", "2 h …" (alert-policy.ts formatDuration) in ms. */
function spanMs(text: string): number {
  const m = /^([\d.]+)\s*(ms|s|min|h)/.exec(text.trim());
  if (!m) throw new Error(`not a span: ${text}`);
  const unit = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'min' | 'h'];
  return Number(m[1]) * unit;
}

function gone(pid: number): boolean {
  return !fs.existsSync(`/proc/${pid}`);
}

describe('server restart: power loss, then pm2 resurrect at boot, under real PM2 @slow', function () {
  this.timeout(120_000);
  let pm2: Pm2Harness;
  let startsBefore = 0;

  const tradingLog = (): string => pm2.readLog('trading.out.log') + pm2.readLog('trading.err.log');
  const telegramLog = (): string => pm2.readLog('telegram.out.log') + pm2.readLog('telegram.err.log');
  const readyCount = (): number => (pm2.readLog('trading.out.log').match(/✅ trading ready/g) ?? []).length;

  before(async () => {
    pm2 = Pm2Harness.create('bn-r31s-');
    // the secrets live in .env (docs/going-live.md); the shell that first starts the pair exports them too
    fs.writeFileSync(
      path.join(pm2.root, '.env'),
      Object.entries(SECRETS)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') + '\n',
      { mode: 0o600 },
    );
    const env = {
      ...SECRETS,
      BYNINJA_IPC_PORT: String(await freePort()),
      BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
      BYNINJA__OUTBOX__PER_CHAT_INTERVAL_MS: '20',
    };
    await pm2.startEcosystem(env);
    await eventually(() => readyCount() >= 1, 30_000, 'trading ready');
    // trading holds something worth recovering
    await eventually(() => /Position opened/.test(telegramLog()), 40_000, 'a position opened', 200);
    await pm2.pm2(['save']);
    startsBefore = readyCount();

    // power loss: every process at once, no shutdown step runs. Killing them one after another is not "at once": the
    // test can be descheduled between two kills (under load, for tens of ms), and a service still alive then sees
    // PM2's IPC channel close and stops cleanly ("PM2 parent gone", as it should when only PM2 dies) — a clean last
    // exit, no unclean-end alert. So every process is frozen first (SIGSTOP: a stopped process runs no instruction, and
    // stopping one closes nothing the others could see), then all are killed.
    const god = Number(fs.readFileSync(path.join(pm2.home, 'pm2.pid'), 'utf8'));
    const pids = [god, ...(await pm2.list()).map((a) => a.pid)];
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await eventually(() => pids.every(gone), 10_000, 'every process gone');
    await sleep(DOWN_MS);

    // boot: pm2 resurrect from a shell without the secrets
    await pm2.pm2(['resurrect'], Object.fromEntries(Object.keys(SECRETS).map((k) => [k, undefined])));
    await eventually(() => readyCount() > startsBefore, 30_000, 'trading ready again after resurrect');
    await eventually(
      () => /restarted after an unclean end/.test(telegramLog()),
      20_000,
      'telegram told its own unclean end',
    );
  });

  after(async () => {
    await pm2?.stop();
  });

  it('brings the pair back and trading recovers its state after the kill; no secret in PM2 (sound)', async () => {
    const apps = await pm2.list();
    expect(apps.map((a) => [a.name, a.status])).to.deep.equal([
      ['trading', 'online'],
      ['telegram', 'online'],
    ]);
    const told = tradingLog()
      .split('\n')
      .filter((line) => /Recovered after|last exit|trading ready|Fatal|stall/.test(line))
      .join('\n');
    expect(tradingLog(), `trading's recovery lines:\n${told}`).to.match(
      /Recovered after killed .* open position/,
    );
    const dump = fs.readFileSync(path.join(pm2.home, 'dump.pm2'), 'utf8');
    const env0 = await pm2.pm2(['env', '0']);
    const described = await pm2.pm2(['describe', 'trading']);
    for (const secret of Object.values(SECRETS)) {
      expect(dump).not.to.include(secret);
      expect(env0).not.to.include(secret);
      expect(described).not.to.include(secret);
    }
  });

  it('says how long the services were down: the alert of the unclean end counts from the death, not from boot', () => {
    const line = telegramLog()
      .split('\n')
      .find((l) => /restarted after an unclean end/.test(l))!;
    const ago = /\(([^()]*) ago\)/.exec(line);
    expect(ago, line).to.not.equal(null);
    expect(spanMs(ago![1]!), line).to.be.at.least(DOWN_MS);
    expect(line).to.match(/last alive \S+, down ≈ [\d.]+ s/);
  });
});
