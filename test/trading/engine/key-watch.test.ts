/**
 * The key watch's looks on a fake clock: one read at the start, then one a day or on the next notice day, each
 * notice on its day; a read that fails is logged and the end last known still counts; stop() ends the looks. The
 * notices are kept in a real file in a temp dir.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../../src/shared/errors';
import { silentLogger } from '../../../src/shared/logging/logger';
import { KeyNoticeFile } from '../../../src/trading/engine/exchange-watch/key-notice-file';
import { KeyWatch } from '../../../src/trading/engine/exchange-watch/key-watch';
import type { ApiKeyLimits, KeyExpiry } from '../../../src/trading/exchange/exchange';
import { captureLogger } from '../../support/capture-logger';
import { FakeClock } from '../../support/fake-clock';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('key watch: when the key is looked at and what is told', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-keywatch-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function setUp(answer: () => ApiKeyLimits, clock = new FakeClock(), holdsOpen = false) {
    const reads: number[] = [];
    const known: Array<KeyExpiry | undefined> = [];
    const told: Array<{ notice: unknown; days?: unknown }> = [];
    let failing = false;
    const { logger, lines } = captureLogger();
    const watch = new KeyWatch({
      exchange: {
        id: 'bybit',
        apiKeyLimits: async () => {
          reads.push(clock.now());
          if (failing) throw new Error('bybit 10016: Server error.');
          return answer();
        },
        knowKeyExpiry: (e) => known.push(e),
      },
      outbox: {
        emit: async (_type, _summary, data) => {
          told.push({ notice: data.notice, days: data.days });
          return true;
        },
      },
      clock,
      logger,
      file: new KeyNoticeFile(dir, 'bybit', clock, silentLogger()),
      key: 'key:0123456789abcdef',
      startWaitMs: 5_000,
      holdsOpen: () => holdsOpen,
    });
    /**
     * The fake clock moved on in 10-minute steps, each step waiting (real time) for the look it fired to have kept its
     * notices and set its next look: the notice file is written for real.
     */
    const advance = async (ms: number): Promise<void> => {
      const end = clock.now() + ms;
      while (clock.now() < end) {
        await clock.advance(Math.min(HOUR / 6, end - clock.now()), HOUR / 6);
        for (let i = 0; i < 200 && clock.pendingTimers === 0 && !stopped; i++)
          await new Promise((r) => setTimeout(r, 5));
      }
    };
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      watch.stop();
    };
    return { clock, reads, known, told, lines, watch, advance, stop, fail: () => (failing = true) };
  }

  it('reads at the start, daily, and on each notice day and the end; a failed read still tells by the end last known', async () => {
    const t = setUp(() => ({ spotTrade: true, withdraw: false, ipBound: false, expiresAt: end }));
    // 5 days and 6 hours ahead: the notice days fall between the daily looks
    const end = t.clock.now() + 5 * DAY + 6 * HOUR;
    const at = (): number[] => t.reads.map((r) => (r - t.reads[0]) / HOUR);
    await t.watch.atStart();
    expect(t.reads).to.have.length(1);
    expect(t.clock.pendingTimers).to.equal(1);
    expect(t.told).to.deep.equal([{ notice: 'expires', days: 14 }]);
    expect(t.known.at(-1)).to.deep.include({ at: end });
    // a look a day, nothing to tell; the 3-day notice on its day (54 h on), not before nor at the next daily look
    await t.advance(54 * HOUR - HOUR / 6);
    expect(at()).to.deep.equal([0, 24, 48]);
    expect(t.told).to.have.length(1);
    await t.advance(HOUR / 3);
    expect(at()).to.deep.equal([0, 24, 48, 54]);
    expect(t.told.at(-1)).to.deep.equal({ notice: 'expires', days: 3 });
    // the looks after it fail: logged, and the end last known still gives the 1-day notice on its day (102 h)
    t.fail();
    await t.advance(2 * DAY);
    expect(at()).to.deep.equal([0, 24, 48, 54, 78, 102]);
    expect(t.told.at(-1)).to.deep.equal({ notice: 'expires', days: 1 });
    expect(t.lines.some((l) => l.level === 'warn' && /API key limits not read/.test(l.message))).to.equal(
      true,
    );
    // and at the end itself (126 h): "expired", once
    await t.advance(DAY + HOUR);
    expect(at()).to.include(126);
    expect(t.told.map((n) => n.notice)).to.deep.equal(['expires', 'expires', 'expires', 'expired']);
    const reads = t.reads.length;
    t.stop();
    await t.advance(3 * DAY);
    expect(t.reads).to.have.length(reads);
    expect(t.clock.pendingTimers).to.equal(0);
  });

  it('a key with no end is read again once a day', async () => {
    const t = setUp(() => ({ spotTrade: true, withdraw: false, ipBound: true }));
    await t.watch.atStart();
    await t.advance(3 * DAY + HOUR);
    expect(t.reads).to.have.length(4);
    expect(t.told).to.deep.equal([]);
    t.stop();
  });

  it('a restart within a day of a read that said "can trade" is ready on it: the read goes out after ready, and a key that cannot trade any more is refused there', async () => {
    let limits: ApiKeyLimits = { spotTrade: true, withdraw: false, ipBound: true };
    const first = setUp(() => limits);
    await first.watch.atStart();
    expect(first.reads).to.have.length(1);
    first.stop();

    // 23 hours on: the kept read is trusted — atStart sends nothing, status shows the kept read
    first.clock.time += 23 * HOUR;
    limits = { spotTrade: false, withdraw: false, ipBound: true };
    const second = setUp(() => limits, first.clock);
    second.watch.send();
    await second.watch.atStart();
    expect(second.reads).to.deep.equal([]);
    expect(second.watch.status()).to.include({ spotTrade: true, readAt: first.reads[0] });
    expect(second.clock.pendingTimers).to.equal(0);
    const refused = await second.watch.afterReady().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(second.reads).to.have.length(1);
    expect(refused).to.be.instanceOf(ConfigError);
    expect((refused as Error).message).to.match(/cannot place spot orders/);
    second.stop();

    // that read is kept ("cannot trade"): the next start awaits a fresh read, and with something open goes on
    const third = setUp(() => limits, first.clock, true);
    await third.watch.atStart();
    expect(third.reads).to.have.length(1);
    expect(third.told).to.deep.equal([{ notice: 'cannot-trade', days: undefined }]);
    await third.watch.afterReady();
    expect(third.reads).to.have.length(1);
    third.stop();
  });

  it('a kept read that a long wait for the exchange made a day old is judged again at the look: a fresh one is awaited', async () => {
    const first = setUp(() => ({ spotTrade: true, withdraw: false, ipBound: true }));
    await first.watch.atStart();
    first.stop();
    first.clock.time += 23 * HOUR;
    const second = setUp(() => ({ spotTrade: true, withdraw: false, ipBound: true }), first.clock);
    // sent at the start (the kept read trusted then: nothing read), looked at 2 hours later
    second.watch.send();
    // the kept notices loaded (and judged) before the clock moves on
    await (second.watch as unknown as { loaded: Promise<void> }).loaded;
    expect(second.reads).to.deep.equal([]);
    second.clock.time += 2 * HOUR;
    await second.watch.atStart();
    expect(second.reads).to.have.length(1);
    await second.watch.afterReady();
    expect(second.reads).to.have.length(1);
    second.stop();
  });

  it('a kept read a day old is not trusted: the start awaits a fresh one', async () => {
    const first = setUp(() => ({ spotTrade: true, withdraw: false, ipBound: true }));
    await first.watch.atStart();
    first.stop();
    first.clock.time += DAY;
    const second = setUp(() => ({ spotTrade: true, withdraw: false, ipBound: true }), first.clock);
    await second.watch.atStart();
    expect(second.reads).to.have.length(1);
    await second.watch.afterReady();
    expect(second.reads).to.have.length(1);
    expect(second.clock.pendingTimers).to.equal(1);
    second.stop();
  });
});
