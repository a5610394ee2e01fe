import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { FakeClock } from '../support/fake-clock';
import { Pm2Client, type Pm2BusPacket } from '../../src/ops/pm2-client';
import { NoAnswerYetError, OperationalError, TemporaryError } from '../../src/shared/errors';
import { eventually, Pm2Harness } from '../../harness/pm2';

const FIXTURE_APP = `'use strict';
process.on('SIGINT', () => process.exit(0));
const keep = [];
for (let i = 0; i < 50; i++) keep.push(Buffer.alloc(100000, 1));
setInterval(() => {}, 1000);
if (process.send) process.send('ready');
`;

describe('ops Pm2Client (real PM2 in a temp PM2_HOME) @slow', function () {
  this.timeout(60_000);
  let pm2h: Pm2Harness;
  let client: Pm2Client;

  before(async () => {
    pm2h = Pm2Harness.create('bn-pm2c-');
    const script = path.join(pm2h.root, 'app.js');
    fs.writeFileSync(script, FIXTURE_APP);
    await pm2h.startScript('trading', script);
    client = new Pm2Client({ pm2Home: pm2h.home, clock: systemClock });
  });

  after(async () => {
    await client?.disconnect();
    await pm2h?.stop();
  });

  it("lists the apps of its own PM2_HOME with PM2's process facts", async () => {
    const list = await client.list();
    expect(list.map((p) => p.name)).to.deep.equal(['trading']);
    const p = list[0]!;
    const fromCli = (await pm2h.info('trading'))!;
    expect(p.pid).to.equal(fromCli.pid);
    expect(p.status).to.equal('online');
    expect(p.restarts).to.equal(0);
    expect(p.uptimeMs).to.be.a('number').and.at.least(0);
    expect(p.memoryBytes).to.be.greaterThan(1024 * 1024);
    expect(p.cpuPercent).to.be.a('number');
    expect(p.outLogPath).to.equal(path.join(pm2h.logDir, 'trading.out.log'));
    expect(JSON.stringify(p)).not.to.include('PM2_HOME'); // the app's environment never leaks into the view
  });

  it('reports uptime by the clock it was given, not the system clock', async () => {
    const hourAhead = new Pm2Client({ pm2Home: pm2h.home, clock: new FakeClock(Date.now() + 3_600_000) });
    try {
      const [p] = await hourAhead.list();
      expect(p!.uptimeMs).to.be.at.least(3_600_000);
    } finally {
      await hourAhead.disconnect();
    }
  });

  it('restart replaces the process, increments the restart count and is seen on the bus', async () => {
    const bus = await client.launchBus();
    const events: Pm2BusPacket[] = [];
    bus.on('process:event', (packet: Pm2BusPacket) => events.push(packet));
    const before = (await client.describe('trading'))!;
    await client.restart('trading');
    const after = (await client.describe('trading'))!;
    expect(after.restarts).to.equal(before.restarts + 1);
    expect(after.pid).not.to.equal(before.pid);
    expect(after.status).to.equal('online');
    await eventually(
      () => events.some((e) => e.process.name === 'trading' && e.event === 'online'),
      10_000,
      'online event',
    );
  });

  it('a PM2 daemon that accepts and never answers (stopped): list() fails with a TemporaryError, never hangs', async () => {
    const daemon = Number(fs.readFileSync(path.join(pm2h.home, 'pm2.pid'), 'utf8'));
    const bounded = new Pm2Client({ pm2Home: pm2h.home, clock: systemClock, listTimeoutMs: 1_000 });
    await bounded.list(); // connected first: the RPC asked below is what gets no answer
    process.kill(daemon, 'SIGSTOP');
    try {
      // the daemon is woken in `finally` even when list() hangs (as it did): never leave a stopped PM2 behind
      let giveUp: () => void = () => undefined;
      const hung = new Promise<string>((resolve) => {
        const t = setTimeout(() => resolve('list() still unanswered after 20 s'), 20_000);
        giveUp = () => clearTimeout(t);
      });
      const err = await Promise.race([
        bounded.list().then(
          () => 'list() answered',
          (e: unknown) => e,
        ),
        hung,
      ]);
      giveUp();
      expect(err).to.be.instanceOf(TemporaryError);
      expect((err as Error).message).to.include('no answer within 1000 ms');
    } finally {
      process.kill(daemon, 'SIGCONT');
      await bounded.disconnect();
    }
  });

  it("restart() and stop() of a PM2 daemon that stops answering: NoAnswerYetError, PM2's answer in its late", async () => {
    const daemon = Number(fs.readFileSync(path.join(pm2h.home, 'pm2.pid'), 'utf8'));
    const bounded = new Pm2Client({ pm2Home: pm2h.home, clock: systemClock, actionTimeoutMs: 1_000 });
    const before = (await bounded.describe('trading'))!; // connected first: the action asked below gets no answer
    process.kill(daemon, 'SIGSTOP');
    let stopped = true;
    try {
      const restart = await bounded.restart('trading').then(
        () => 'restart() answered',
        (e: unknown) => e,
      );
      expect(restart).to.be.instanceOf(NoAnswerYetError);
      expect((restart as Error).message).to.include('PM2 restart trading: no answer within 1 s');
      process.kill(daemon, 'SIGCONT');
      stopped = false;
      // PM2 goes on with what it was asked: the late answer, then the restart is there
      await (restart as NoAnswerYetError).late;
      expect((await bounded.describe('trading'))!.restarts).to.equal(before.restarts + 1);

      process.kill(daemon, 'SIGSTOP');
      stopped = true;
      const stop = await bounded.stop('trading').then(
        () => 'stop() answered',
        (e: unknown) => e,
      );
      expect(stop).to.be.instanceOf(NoAnswerYetError);
      process.kill(daemon, 'SIGCONT');
      stopped = false;
      await (stop as NoAnswerYetError).late;
      expect((await bounded.describe('trading'))!.status).to.equal('stopped');
    } finally {
      if (stopped) process.kill(daemon, 'SIGCONT');
      await bounded.restart('trading').catch(() => undefined);
      await bounded.disconnect();
    }
  });

  it('a restart asked again while PM2 has not answered the first is not asked twice: both wait for the one (review 33t)', async () => {
    // /restart said "no answer from PM2 yet" and the operator (or the hang watch) asks again: PM2, once it goes on,
    // must restart trading once, and neither caller be told a failure PM2 made of the second request
    const daemon = Number(fs.readFileSync(path.join(pm2h.home, 'pm2.pid'), 'utf8'));
    const bounded = new Pm2Client({ pm2Home: pm2h.home, clock: systemClock, actionTimeoutMs: 1_000 });
    const before = (await bounded.describe('trading'))!;
    process.kill(daemon, 'SIGSTOP');
    let stopped = true;
    try {
      const first = await bounded.restart('trading').then(
        () => 'answered',
        (e: unknown) => e,
      );
      const second = await bounded.restart('trading').then(
        () => 'answered',
        (e: unknown) => e,
      );
      expect(first).to.be.instanceOf(NoAnswerYetError);
      expect(second).to.be.instanceOf(NoAnswerYetError);
      process.kill(daemon, 'SIGCONT');
      stopped = false;
      const outcomes = await Promise.allSettled([
        (first as NoAnswerYetError).late,
        (second as NoAnswerYetError).late,
      ]);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).to.deep.equal([
        'ok',
        'ok',
      ]);
      await eventually(
        async () => (await bounded.describe('trading'))?.status === 'online',
        10_000,
        'trading online',
      );
      expect((await bounded.describe('trading'))!.restarts).to.equal(before.restarts + 1);
    } finally {
      if (stopped) process.kill(daemon, 'SIGCONT');
      await bounded.disconnect();
    }
  });

  it('an unknown app is an OperationalError naming it', async () => {
    const err = await client.restart('nope').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(OperationalError);
    expect((err as Error).message).to.include('"nope"');
  });

  it('stop stops the app (status stopped, no uptime)', async () => {
    await client.stop('trading');
    const p = (await client.describe('trading'))!;
    expect(p.status).to.equal('stopped');
    expect(p.uptimeMs).to.equal(null);
  });

  it('with spawnDaemon false and no daemon it refuses instead of starting one', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-nod-'));
    const lonely = new Pm2Client({ pm2Home: home, spawnDaemon: false, clock: systemClock });
    try {
      const err = await lonely.list().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(OperationalError);
      expect((err as Error).message).to.equal('PM2 daemon is not running');
      expect(fs.existsSync(path.join(home, 'rpc.sock'))).to.equal(false);
    } finally {
      await lonely.disconnect();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("disconnect survives PM2's socket closing after pm2's own 200 ms timer (its callback ran twice, thrown uncaught)", async () => {
    const c = new Pm2Client({ pm2Home: pm2h.home, clock: systemClock });
    await c.list();
    // a loaded host: the RPC socket's 'close' comes 300 ms after it was asked, past pm2's own 200 ms timer
    const sock = (c as unknown as { api: { Client: { client_sock: { close(): void } } } }).api.Client
      .client_sock;
    const close = sock.close.bind(sock);
    sock.close = () => void setTimeout(close, 300);
    await c.disconnect();
    // the late 'close' calls back a second time here: nothing may throw
    await new Promise((resolve) => setTimeout(resolve, 400));
  });

  it('disconnect is idempotent', async () => {
    const c = new Pm2Client({ pm2Home: pm2h.home, clock: systemClock });
    await c.list();
    await c.disconnect();
    await c.disconnect();
  });
});
