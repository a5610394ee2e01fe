/**
 * The rate-limit gate's "closed until" across runs: two gates over one data dir (two starts of trading), real files.
 * A kept ban holds the next start's first request; only a future time is honoured, at most the longest documented
 * wait away; a damaged file is set aside and ignored. Whether the exchange refused the bot lately (a start's first
 * reads alone, recovery-reads.ts) is read off the same file.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import {
  GATE_FILE,
  GateFile,
  REFUSED_LATELY_MS,
  refusedWithin,
} from '../../../src/trading/exchange/gate-file';
import { RateLimitGate, keptClosedUntil } from '../../../src/trading/exchange/rate-limit-gate';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';
import { FakeClock } from '../../support/fake-clock';
import { TempDirs } from '../../support/temp-dirs';

const T = 1_700_000_000_000;
const banned = Object.assign(new Error('418'), { httpStatus: 418 });

describe('the rate-limit gate kept across restarts', () => {
  const dirs = new TempDirs();
  afterEach(() => dirs.cleanup());

  /** One start of trading: a gate over the data dir's kept file, on `clock`. */
  const start = (dir: string, clock: FakeClock, exchangeId = 'binance') => {
    const file = new GateFile({ dataDir: dir, exchangeId, clock });
    const gate = new RateLimitGate({
      clock,
      refusal: (err) => (err === banned ? { httpStatus: 418, retryAfterMs: 600_000 } : undefined),
      resets: binanceProfile.rateLimitResets,
      closedUntil: file.closedUntil(),
      onClosed: (waitMs, _refusals, lane) => {
        if (lane === 'all') file.save(clock.now() + waitMs);
      },
    });
    return { file, gate };
  };

  it('keeps only a future time, bounded by the longest documented wait (pure)', () => {
    expect(keptClosedUntil(undefined, T, 1_000)).to.equal(undefined);
    expect(keptClosedUntil(T - 1, T, 1_000)).to.equal(undefined);
    expect(keptClosedUntil(T, T, 1_000)).to.equal(undefined);
    expect(keptClosedUntil(T + 500, T, 1_000)).to.equal(T + 500);
    expect(keptClosedUntil(T + 5_000, T, 1_000)).to.equal(T + 1_000);
  });

  it("a 418 ban of one run holds the next start's first request until it ends, then one probe goes", async () => {
    const dir = dirs.make();
    const clock = new FakeClock(T);
    const first = start(dir, clock);
    await first.gate.send(() => Promise.reject(banned)).catch(() => undefined);
    await first.file.close();
    const kept = JSON.parse(fs.readFileSync(path.join(dir, GATE_FILE), 'utf8'));
    expect(kept.gates.binance.closedUntil).to.equal(T + 600_000);

    // the crash; the next start a minute later
    clock.time = T + 60_000;
    const second = start(dir, clock);
    let sent = 0;
    const read = second.gate.send(async () => (sent++, 'markets'));
    // the kept file is read from disk (real I/O); the fake clock stands still meanwhile
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).to.equal(0);
    expect(second.gate.closedUntil()).to.equal(T + 600_000);
    await clock.advance(539_999);
    expect(sent).to.equal(0);
    await clock.advance(1);
    expect(await read).to.equal('markets');
    expect(sent).to.equal(1);
  });

  it('a kept time in the past, or of another exchange, holds nothing; the other entry is kept when saving', async () => {
    const dir = dirs.make();
    const clock = new FakeClock(T);
    const bybit = start(dir, clock, 'bybit');
    await bybit.gate.send(() => Promise.reject(banned)).catch(() => undefined);
    await bybit.file.close();
    clock.time = T + 700_000;
    const binance = start(dir, clock);
    expect(await binance.gate.send(async () => 'sent')).to.equal('sent');
    await binance.gate.send(() => Promise.reject(banned)).catch(() => undefined);
    await binance.file.close();
    const kept = JSON.parse(fs.readFileSync(path.join(dir, GATE_FILE), 'utf8'));
    expect(Object.keys(kept.gates).sort()).to.deep.equal(['binance', 'bybit']);
    // bybit's ban is over at this start: nothing held
    const again = start(dir, clock, 'bybit');
    expect(await again.gate.send(async () => 'sent')).to.equal('sent');
  });

  it('a damaged file is quarantined and ignored: the start sends', async () => {
    const dir = dirs.make();
    const file = path.join(dir, GATE_FILE);
    fs.writeFileSync(file, JSON.stringify({ version: 1, gates: { binance: { closedUntil: 'soon' } } }));
    const clock = new FakeClock(T);
    const { gate } = start(dir, clock);
    expect(await gate.send(async () => 'sent')).to.equal('sent');
    expect(fs.existsSync(file)).to.equal(false);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(`${GATE_FILE}.corrupt-`))).to.have.length(1);
  });
  it('says refused lately within the window of the later of its wait and when it was kept, or ahead of now (pure)', () => {
    const day = REFUSED_LATELY_MS;
    expect(day).to.equal(24 * 3_600_000);
    expect(refusedWithin(undefined, T, day)).to.equal(false);
    expect(refusedWithin({ closedUntil: T - day + 1, savedAt: T - day - 60_000 }, T, day)).to.equal(true);
    expect(refusedWithin({ closedUntil: T - day - 60_000, savedAt: T - day + 1 }, T, day)).to.equal(true);
    expect(refusedWithin({ closedUntil: T - day, savedAt: T - day - 60_000 }, T, day)).to.equal(false);
    // a ban still in force, or kept ahead of this clock (moved back)
    expect(refusedWithin({ closedUntil: T + 60_000, savedAt: T - 2 * day }, T, day)).to.equal(true);
    expect(refusedWithin({ closedUntil: T - 2 * day, savedAt: T + 60_000 }, T, day)).to.equal(true);
  });

  it("reads whether this exchange refused the bot lately off the kept file: its own entry, this run's closings, and a file it cannot trust", async () => {
    const dir = dirs.make();
    const clock = new FakeClock(T);
    // no file: never refused
    expect(await start(dir, clock).file.refusedLately()).to.equal(false);
    const bybit = start(dir, clock, 'bybit');
    await bybit.gate.send(() => Promise.reject(banned)).catch(() => undefined);
    await bybit.file.close();
    // another exchange's ban says nothing of this one
    const binance = start(dir, clock);
    expect(await binance.file.refusedLately()).to.equal(false);
    // a closing of this run counts at once
    await binance.gate.send(() => Promise.reject(banned)).catch(() => undefined);
    expect(await binance.file.refusedLately()).to.equal(true);
    await binance.file.close();
    // the next starts: within a day of the ban's end, then after
    clock.time = T + 600_000 + REFUSED_LATELY_MS - 1;
    expect(await start(dir, clock).file.refusedLately()).to.equal(true);
    clock.time = T + 600_000 + REFUSED_LATELY_MS;
    expect(await start(dir, clock).file.refusedLately()).to.equal(false);
    // a file that does not match its schema (set aside), or that cannot be read: not known, so refused
    fs.writeFileSync(path.join(dir, GATE_FILE), '{"version":1,"gates":{"binance":{"closedUntil":"soon"}}}');
    expect(await start(dir, clock).file.refusedLately()).to.equal(true);
    if (process.getuid?.() !== 0) {
      fs.writeFileSync(path.join(dir, GATE_FILE), '{"version":1,"gates":{}}', { mode: 0o000 });
      expect(await start(dir, clock).file.refusedLately()).to.equal(true);
    }
    fs.mkdirSync(path.join(dir, 'dir-as-file'));
    const unreadable = new GateFile({ dataDir: path.join(dir, 'dir-as-file'), exchangeId: 'binance', clock });
    fs.mkdirSync(unreadable.file);
    expect(await unreadable.refusedLately()).to.equal(true);
  });
});
