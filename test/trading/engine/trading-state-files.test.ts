/**
 * The trading state file as the daemon opens it (real files in a temp dir): a file written by an older build is
 * migrated, one version step at a time, and checked against the full schema.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { silentLogger } from '../../../src/shared/logging/logger';
import { openTradingStateFiles } from '../../../src/trading/engine/state/state-files';
import { STATE_VERSION, defaultTradingState } from '../../../src/trading/engine/state/trading-state';

describe('trading state files written by an older build', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-state-files-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a version 2 file (before shortfalls were kept) opens with none announced, its halts and seq kept', async () => {
    const v2 = {
      ...defaultTradingState(),
      seq: 12,
      announcedHalts: { 'ETH/USDT': { status: 'halted', since: 5 } },
    } as Record<string, unknown>;
    delete v2.announcedShortfalls;
    fs.writeFileSync(
      path.join(dir, 'trading-state.json'),
      JSON.stringify({ version: 2, savedAt: 1_700_000_000_000, data: v2 }),
    );
    const files = await openTradingStateFiles(dir, silentLogger(), systemClock);
    try {
      expect(files.store.openReport.created).to.equal(false);
      expect(files.store.data.seq).to.equal(12);
      expect(files.store.data.announcedHalts).to.deep.equal({ 'ETH/USDT': { status: 'halted', since: 5 } });
      expect(files.store.data.announcedShortfalls).to.deep.equal({});
      // kept since the owner's holdings go across restarts; a file without them has none measured
      expect(files.store.data.ownerHoldings).to.deep.equal({});
      // a file without the candles the strategy saw: the first tick asks it on the newest closed candle
      expect(files.store.data.seenCandles).to.deep.equal({});
      await files.store.commit();
      const written = JSON.parse(fs.readFileSync(path.join(dir, 'trading-state.json'), 'utf8'));
      expect(written.version).to.equal(STATE_VERSION);
      expect(written.data.announcedShortfalls).to.deep.equal({});
    } finally {
      await files.close();
    }
  });

  it('a file written before unsellable positions were told opens with none told; a wrong record is quarantined', async () => {
    const before = { ...defaultTradingState(), seq: 7 } as Record<string, unknown>;
    delete before.announcedUnsellable;
    const file = path.join(dir, 'trading-state.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ version: STATE_VERSION, savedAt: 1_700_000_000_000, data: before }),
    );
    const files = await openTradingStateFiles(dir, silentLogger(), systemClock);
    try {
      expect(files.store.openReport.quarantined).to.deep.equal([]);
      expect(files.store.data.seq).to.equal(7);
      expect(files.store.data.announcedUnsellable).to.deep.equal({});
    } finally {
      await files.close();
    }
    // valid JSON with a record this build cannot read: quarantined like any other field's, the previous generation
    // loaded instead (never trusted half)
    const wrong = {
      ...defaultTradingState(),
      seq: 8,
      announcedUnsellable: { 'BTC/USDT': { reason: 'gone', amount: 0.03, at: 1 } },
    };
    fs.copyFileSync(file, `${file}.prev`);
    fs.writeFileSync(
      file,
      JSON.stringify({ version: STATE_VERSION, savedAt: 1_700_000_000_001, data: wrong }),
    );
    const reopened = await openTradingStateFiles(dir, silentLogger(), systemClock);
    try {
      expect(reopened.store.openReport.recoveredFromPrevious).to.equal(true);
      expect(reopened.store.openReport.quarantined).to.have.length(1);
      expect(reopened.store.data.seq).to.equal(7);
      expect(reopened.store.data.announcedUnsellable).to.deep.equal({});
    } finally {
      await reopened.close();
    }
  });
});
