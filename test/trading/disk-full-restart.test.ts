/**
 * Trading SIGKILLed while its data dir is full, under a real PM2 (temp PM2_HOME) on a real tmpfs: every restart
 * attempt fails (exit 1, not 78, so PM2 keeps retrying with backoff instead of leaving it stopped), and once there
 * is space again it comes back by itself with its state whole. Skipped where a tmpfs cannot be mounted.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TradingProbe } from '../../harness/trading-probe';
import { DAEMON_SCRIPTS, Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { Tmpfs } from '../../harness/tmpfs';

describe('trading restarted on a full disk under PM2 @slow', function () {
  this.timeout(120_000);

  it('keeps failing with exit 1 while the disk is full (never stopped by PM2), then recovers by itself', async function () {
    const why: { reason?: string } = {};
    const disk = Tmpfs.mount(32, why);
    if (!disk) return this.skip();
    const h = Pm2Harness.create('bn-diskfull-');
    try {
      const token = crypto.randomBytes(32).toString('hex');
      fs.writeFileSync(path.join(h.root, '.env'), `BYNINJA_IPC_TOKEN=${token}\n`, { mode: 0o600 });
      const port = await freePort();
      await h.startScript('trading', DAEMON_SCRIPTS.trading, {
        env: {
          BYNINJA_DATA_DIR: disk.dir,
          BYNINJA_IPC_PORT: String(port),
          // the paper account stands for the exchange: not on the bot's disk
          BYNINJA__TRADING__PAPER__DATA_DIR: path.join(h.root, 'exchange'),
          BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
          BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
        },
      });
      const probe = new TradingProbe(port, token);
      const { status } = await probe.waitRunning(30_000);
      const first = (await h.list()).find((p) => p.name === 'trading')!;

      disk.fill();
      process.kill(first.pid, 'SIGKILL');
      // PM2 restarts it, every start fails on the full disk, PM2 tries again
      await eventually(
        async () => ((await h.list()).find((p) => p.name === 'trading')?.restarts ?? 0) >= first.restarts + 3,
        30_000,
        'three failed restarts on the full disk',
      );
      const during = (await h.list()).find((p) => p.name === 'trading')!;
      expect(during.status).to.not.be.oneOf(['stopped', 'errored']);
      const log = h.readLog('trading.out.log') + h.readLog('trading.err.log');
      expect(log).to.match(/disk full \(ENOSPC\)/);
      expect(log).to.match(/start failed \(exit 1\)/);
      expect(log).to.not.match(/exit 78/);

      disk.free();
      const back = await probe.waitRunning(60_000, first.pid);
      // the failed starts never took over: what the next run found is the SIGKILLed run's marker
      expect(back.status.lastExit.kind).to.equal('killed');
      expect(status.loopState).to.equal('running');
      const { differences } = await probe.call('reconcile', {}, 10_000);
      expect(differences).to.deep.equal([]);
      const after = (await h.list()).find((p) => p.name === 'trading')!;
      expect(after.status).to.equal('online');
    } finally {
      await h.stop();
      disk.unmount();
    }
  });
});
