/**
 * Telegram's charts are drawn in a child process: the real chart child draws the PNG; a child that crashes, hangs,
 * answers garbage or is asked too often is refused with a clear error, killed when late, and never takes the
 * caller down; the child never sees this process's environment (secrets).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHART_HEIGHT, CHART_WIDTH } from '../../../src/ops/equity-chart';
import { systemClock } from '../../../src/shared/clock';
import type { PnlReport } from '../../../src/shared/ipc/protocol';
import { ChartProcess } from '../../../src/telegram/charts/chart-process';
import { REPO_ROOT, eventually } from '../../../harness/pm2';
import { FakeClock } from '../../support/fake-clock';
import { pngSize } from '../../support/png';
import { stubReport } from '../../support/trading-stub';

// dist/test/telegram/charts → dist/test/fixtures/charts
const MISBEHAVING = path.join(__dirname, '../../fixtures/charts/misbehaving-chart-child.js');

function asking(mode: string): PnlReport {
  return { ...stubReport(Date.now()), quoteCurrency: mode };
}

/** The refusal a request ended with (a drawn chart is a failure here). */
async function refusal(request: Promise<Buffer>): Promise<string> {
  return request.then(
    () => 'drawn',
    (e: unknown) => (e as Error).message,
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('chart process (telegram draws charts apart)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-charts-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('draws the equity curve as a PNG in the real chart child', async () => {
    const png = await new ChartProcess({ clock: systemClock }).equityPng(stubReport(Date.now()));
    expect(pngSize(png)).to.deep.equal({ width: CHART_WIDTH, height: CHART_HEIGHT });
  });

  it("draws with the bundled child beside telegram's bundle (what the daemon runs: dist/daemons)", async () => {
    const script = path.join(REPO_ROOT, 'dist/daemons/chart-child.js');
    const png = await new ChartProcess({ clock: systemClock, script }).equityPng(stubReport(Date.now()));
    expect(pngSize(png)).to.deep.equal({ width: CHART_WIDTH, height: CHART_HEIGHT });
  });

  it('a crashing child is a clear error with the first line of its stderr; the next chart still works', async () => {
    const charts = new ChartProcess({ clock: systemClock, script: MISBEHAVING });
    const err = await charts.equityPng(asking('CRASH')).catch((e: unknown) => e as Error);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.equal('the chart process failed: renderer blew up: out of fonts');
    const text = await charts.equityPng(asking('TEXT')).catch((e: unknown) => e as Error);
    expect((text as Error).message).to.equal('the chart process answered something that is not a PNG');
  });

  it('a child that does not answer in time is killed and the request refused', async () => {
    const clock = new FakeClock(Date.now());
    const charts = new ChartProcess({ clock, script: MISBEHAVING, timeoutMs: 30_000 });
    const pidFile = path.join(dir, 'pid');
    const drawing = refusal(charts.equityPng(asking(`PID:${pidFile}`)));
    await eventually(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8') !== '', 10_000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).to.equal(true);
    await clock.advance(29_000, 1_000);
    expect(alive(pid)).to.equal(true); // not before its time
    await clock.advance(1_000);
    expect(await drawing).to.equal('the chart took longer than 30000 ms');
    expect(alive(pid)).to.equal(false);
  });

  it('draws one chart at a time and refuses at once beyond the few that may wait', async () => {
    const clock = new FakeClock(Date.now());
    const charts = new ChartProcess({ clock, script: MISBEHAVING, timeoutMs: 1_000, maxWaiting: 2 });
    const pidFile = path.join(dir, 'pid');
    const results = [1, 2, 3].map((n) => refusal(charts.equityPng(asking(`PID:${pidFile}.${n}`))));
    expect(await refusal(charts.equityPng(asking('HANG')))).to.match(/^busy drawing other charts/);
    await eventually(() => fs.existsSync(`${pidFile}.1`), 10_000);
    // the second waits its turn while the first draws
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.existsSync(`${pidFile}.2`)).to.equal(false);
    for (const n of [1, 2, 3]) {
      await eventually(() => fs.existsSync(`${pidFile}.${n}`), 10_000);
      await clock.advance(1_000);
    }
    for (const r of await Promise.all(results)) expect(r).to.equal('the chart took longer than 1000 ms');
  });

  it('close() kills the chart being drawn and refuses new ones (telegram stopping)', async () => {
    const charts = new ChartProcess({ clock: new FakeClock(Date.now()), script: MISBEHAVING });
    const pidFile = path.join(dir, 'pid');
    const drawing = refusal(charts.equityPng(asking(`PID:${pidFile}`)));
    await eventually(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8') !== '', 10_000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    charts.close();
    expect(await drawing).to.equal('the chart process failed: killed by SIGKILL');
    expect(alive(pid)).to.equal(false);
    expect(await refusal(charts.equityPng(asking('HANG')))).to.equal('telegram is stopping');
  });

  it("the child gets none of this process's environment", async () => {
    process.env.BYNINJA_CHART_TEST_SECRET = 'sekrit-value';
    try {
      const clock = new FakeClock(Date.now());
      const charts = new ChartProcess({ clock, script: MISBEHAVING, timeoutMs: 1_000 });
      const envFile = path.join(dir, 'env.json');
      const drawing = charts.equityPng(asking(`ENV:${envFile}`)).catch((e: unknown) => e);
      await eventually(() => fs.existsSync(envFile) && fs.readFileSync(envFile, 'utf8') !== '', 10_000);
      const env = JSON.parse(fs.readFileSync(envFile, 'utf8')) as Record<string, string>;
      expect(env).not.to.have.property('BYNINJA_CHART_TEST_SECRET');
      expect(JSON.stringify(env)).not.to.include('sekrit-value');
      await clock.advance(1_000);
      await drawing;
    } finally {
      delete process.env.BYNINJA_CHART_TEST_SECRET;
    }
  });
});
