import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { FakeClock } from '../../support/fake-clock';
import { LockHeldError } from '../../../src/shared/errors';
import { StoreLock } from '../../../src/shared/persistence';
import { takeOverStaleLock } from '../../../src/shared/persistence/lock';
import { processStartTime } from '../../../src/shared/persistence/process-identity';
import { FixtureProcess } from '../../support/fixture-process';
import { TempDirs } from '../../support/temp-dirs';

/** A pid that is not running right now (searched down from the top of the pid range, rarely in use). */
let nextCandidate = 0;
async function deadPid(): Promise<number> {
  if (!nextCandidate) {
    let max = 32768;
    try {
      max = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()) || max;
    } catch {
      // not Linux: the default range
    }
    nextCandidate = max - 1;
  }
  for (; nextCandidate > 1; nextCandidate--) {
    try {
      process.kill(nextCandidate, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return nextCandidate--;
    }
  }
  // No /proc or no free pid found: use a child that already exited.
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

function writeLock(dir: string, record: Record<string, unknown>): string {
  const file = path.join(dir, 'trading.lock');
  fs.writeFileSync(
    file,
    JSON.stringify({ host: os.hostname(), acquiredAt: new Date().toISOString(), nonce: 'n', ...record }),
  );
  return file;
}

describe('StoreLock', () => {
  const temp = new TempDirs();
  const children: FixtureProcess[] = [];
  const locks: StoreLock[] = [];
  let dir: string;

  beforeEach(() => {
    dir = temp.make();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop();
    for (const l of locks.splice(0)) await l.release().catch(() => undefined);
    temp.cleanup();
  });

  const acquire = async (): Promise<StoreLock> => {
    const lock = await StoreLock.acquire(dir, 'trading', { clock: systemClock });
    locks.push(lock);
    return lock;
  };

  it('records when it was taken by the clock it was given', async () => {
    const clock = new FakeClock(Date.UTC(2031, 0, 2, 3, 4, 5));
    locks.push(await StoreLock.acquire(dir, 'trading', { clock }));
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'trading.lock'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(record.acquiredAt).to.equal('2031-01-02T03:04:05.000Z');
  });

  it('writes <name>.lock with pid, process start time and host, and release removes it', async () => {
    const lock = await acquire();
    const file = path.join(dir, 'trading.lock');
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(record.pid).to.equal(process.pid);
    expect(record.host).to.equal(os.hostname());
    if (process.platform === 'linux') expect(record.startedAt).to.equal(processStartTime(process.pid));
    await lock.release();
    await lock.release();
    expect(fs.existsSync(file)).to.equal(false);
  });

  it('refuses a second acquire while this live process holds it', async () => {
    await acquire();
    const err = await StoreLock.acquire(dir, 'trading', { clock: systemClock }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LockHeldError);
    expect((err as LockHeldError).context.pid).to.equal(process.pid);
  });

  it('refuses to acquire while another live process holds it, naming that pid', async () => {
    const holder = new FixtureProcess('lock-holder', [dir, 'trading']);
    children.push(holder);
    const line = await holder.waitForLine((l) => l.startsWith('locked '));
    const holderPid = Number(line.split(' ')[1]);
    const err = await StoreLock.acquire(dir, 'trading', { clock: systemClock }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LockHeldError);
    expect((err as LockHeldError).message).to.contain(`pid ${holderPid}`);
    expect((err as LockHeldError).context.pid).to.equal(holderPid);
  });

  it('takes over at once after the holder was SIGKILLed, with no stale-lock timeout', async () => {
    const holder = new FixtureProcess('lock-holder', [dir, 'trading']);
    children.push(holder);
    const line = await holder.waitForLine((l) => l.startsWith('locked '));
    await holder.stop('SIGKILL');
    expect(fs.existsSync(path.join(dir, 'trading.lock'))).to.equal(true); // SIGKILL left it behind
    // takeoverWaitMs 0: any waiting would surface as LockHeldError instead of a success.
    const lock = await StoreLock.acquire(dir, 'trading', { clock: systemClock, takeoverWaitMs: 0 });
    locks.push(lock);
    expect(lock.takenOverFrom?.pid).to.equal(Number(line.split(' ')[1]));
    expect(JSON.parse(fs.readFileSync(lock.path, 'utf8')).pid).to.equal(process.pid);
  });

  it('a second process is refused (exit 75 path) and, once the holder releases, can acquire', async () => {
    const first = new FixtureProcess('lock-holder', [dir, 'trading']);
    children.push(first);
    await first.waitForLine((l) => l.startsWith('locked '));
    const second = new FixtureProcess('lock-holder', [dir, 'trading']);
    children.push(second);
    await second.waitForLine((l) => l.startsWith('held '));
    expect((await second.finished).code).to.equal(75);
    first.send('release');
    expect((await first.finished).code).to.equal(0);
    expect(fs.existsSync(path.join(dir, 'trading.lock'))).to.equal(false);
    await acquire();
  });

  it('takes over a dead holder’s lock without a thread-pool round trip: the lock is ours before acquire yields', async () => {
    writeLock(dir, { pid: await deadPid(), startedAt: '1' });
    fs.writeFileSync(path.join(dir, `.trading.lock.tmp-${await deadPid()}-abc`), 'torn');
    const pending = StoreLock.acquire(dir, 'trading', { clock: systemClock });
    // nothing awaited yet: every file call of the takeover already ran (a restart waits on each async one)
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'trading.lock'), 'utf8'));
    expect(onDisk.pid).to.equal(process.pid);
    expect(fs.readdirSync(dir)).to.deep.equal(['trading.lock']);
    const lock = await pending;
    locks.push(lock);
    expect(lock.record.nonce).to.equal(onDisk.nonce);
  });

  it('takes over a lock whose pid is not running', async () => {
    const pid = await deadPid();
    writeLock(dir, { pid, startedAt: '12345' });
    const lock = await acquire();
    expect(lock.takenOverFrom?.pid).to.equal(pid);
  });

  it('takes over a lock whose pid was reused by another process (start time differs)', async function () {
    if (processStartTime(process.pid) === undefined) this.skip(); // needs /proc
    // Our own pid is alive, but the recorded start time is not ours: the holder was an earlier process.
    writeLock(dir, { pid: process.pid, startedAt: '1' });
    const lock = await acquire();
    expect(lock.takenOverFrom?.startedAt).to.equal('1');
  });

  it('takes over a lock file that is not a lock record', async () => {
    fs.writeFileSync(path.join(dir, 'trading.lock'), '');
    await acquire();
  });

  it('is not blocked by a takeover marker left by a taker that died mid-takeover', async () => {
    const pid = await deadPid();
    const lockFile = writeLock(dir, { pid, startedAt: '1' });
    const { createHash } = await import('node:crypto');
    const generation = createHash('sha256')
      .update(fs.readFileSync(lockFile, 'utf8'))
      .digest('hex')
      .slice(0, 24);
    fs.writeFileSync(
      `${lockFile}.takeover-${generation}-1`,
      JSON.stringify({ pid: await deadPid(), startedAt: '2' }),
    );
    await acquire();
    expect(fs.readdirSync(dir)).to.deep.equal(['trading.lock']);
  });

  it('a taker that judged an old generation stale never replaces the lock a faster taker already holds', async () => {
    const lockFile = writeLock(dir, { pid: await deadPid(), startedAt: '1' });
    const staleRaw = fs.readFileSync(lockFile, 'utf8');
    const fast = await acquire(); // took the stale generation over
    const slow = await takeOverStaleLock(lockFile, staleRaw, JSON.stringify({ pid: 1, nonce: 'slow' }));
    expect(slow).to.equal('lost');
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).nonce).to.equal(fast.record.nonce);
  });

  it('waits for, then defers to, a live process that is in the middle of taking over the same stale lock', async () => {
    const lockFile = writeLock(dir, { pid: await deadPid(), startedAt: '1' });
    const { createHash } = await import('node:crypto');
    const generation = createHash('sha256')
      .update(fs.readFileSync(lockFile, 'utf8'))
      .digest('hex')
      .slice(0, 24);
    // A live taker (this very process, as a stand-in) holds the level-1 marker of that generation.
    fs.writeFileSync(
      `${lockFile}.takeover-${generation}-1`,
      JSON.stringify({ pid: process.pid, startedAt: processStartTime(process.pid) }),
    );
    const err = await StoreLock.acquire(dir, 'trading', { clock: systemClock, takeoverWaitMs: 50 }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(LockHeldError);
    expect((err as Error).message).to.contain('is taking over the stale lock');
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).startedAt).to.equal('1');
  });

  it('release leaves alone a lock that is no longer ours', async () => {
    const lock = await acquire();
    const other = writeLock(dir, { pid: process.pid, nonce: 'someone-else' });
    await lock.release();
    expect(fs.existsSync(other)).to.equal(true);
  });

  it('exactly one of many concurrent acquires in one process takes over a stale lock', async () => {
    for (let round = 0; round < 3; round++) {
      const pid = await deadPid();
      writeLock(dir, { pid, startedAt: String(round) });
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => StoreLock.acquire(dir, 'trading', { clock: systemClock })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won, `round ${round}`).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).to.be.instanceOf(LockHeldError);
      await (won[0] as PromiseFulfilledResult<StoreLock>).value.release();
    }
  });

  it('@slow exactly one of several processes starting together takes over a stale lock', async () => {
    const racers = Array.from(
      { length: 5 },
      () => new FixtureProcess('lock-holder', [dir, 'trading', '--race']),
    );
    children.push(...racers);
    for (let round = 0; round < 8; round++) {
      const seen = racers.map((r) => r.lines.length);
      await Promise.all(racers.map((r, i) => r.waitForLine((l) => l === 'waiting', 30_000, seen[i] - 1)));
      writeLock(dir, { pid: await deadPid(), startedAt: String(round) });
      const before = racers.map((r) => r.lines.length);
      for (const r of racers) r.send('go');
      const outcomes = await Promise.all(
        racers.map((r, i) => r.waitForLine((l) => /^(locked|held) /.test(l), 30_000, before[i])),
      );
      const winners = outcomes.filter((o) => o.startsWith('locked '));
      expect(winners, `round ${round}: ${outcomes.join(', ')}`).to.have.length(1);
      const winnerPid = Number(winners[0].split(' ')[1]);
      for (const o of outcomes) if (o.startsWith('held ')) expect(o).to.equal(`held ${winnerPid}`);
      const winner = racers[outcomes.indexOf(winners[0])];
      const mark = winner.lines.length;
      winner.send('release');
      await winner.waitForLine((l) => l === 'released', 30_000, mark);
    }
  });
});
