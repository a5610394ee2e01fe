/**
 * Issue 12 hole 3 for telegram's files: a parseable outbox or supervisor file with a wrong type inside is
 * quarantined and the previous generation loaded (real Store, real files), instead of being half-trusted.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store } from '../../src/shared/persistence/store';
import { OUTBOX_STORE_NAME, validateOutboxState } from '../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../src/telegram/notify/outbox-queue';
import {
  emptySupervisorState,
  SUPERVISOR_STORE_NAME,
  validateSupervisorState,
  type SupervisorState,
} from '../../src/telegram/supervisor/supervisor-state';
import {
  takeSelfRestartMarker,
  selfRestartMarkerPath,
} from '../../src/telegram/supervisor/self-restart-marker';
import { systemClock } from '../../src/shared/clock';

const envelope = (data: unknown): string => JSON.stringify({ version: 1, savedAt: 1, data });

describe('telegram state files: full schema on load', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-sec-tg-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an outbox with seenEventSeqs "x" is quarantined and the previous generation (with its queued alert) used', async () => {
    const file = path.join(dir, `${OUTBOX_STORE_NAME}.json`);
    const entry = {
      id: 1,
      key: 'crash:trading',
      priority: 'critical',
      text: 'trading crashed',
      silent: false,
      chatId: '42',
      firstAt: 1,
      lastAt: 1,
      count: 1,
      attempts: 0,
    };
    fs.writeFileSync(
      file,
      envelope({ ...emptyOutboxState(), nextId: 2, entries: [entry], seenEventSeqs: 'x' }),
    );
    fs.writeFileSync(`${file}.prev`, envelope({ ...emptyOutboxState(), nextId: 2, entries: [entry] }));
    const store = await Store.open<OutboxState>({
      clock: systemClock,
      dir,
      name: OUTBOX_STORE_NAME,
      version: 1,
      defaults: emptyOutboxState,
      validate: validateOutboxState,
      onCorrupt: 'start-empty',
    });
    try {
      expect(store.openReport.recoveredFromPrevious).to.equal(true);
      expect(store.openReport.quarantined).to.have.length(1);
      expect(store.data.seenEventSeqs).to.deep.equal([]);
      expect(store.data.entries.map((e) => e.text)).to.deep.equal(['trading crashed']);
    } finally {
      await store.close();
    }
  });

  it('a supervisor file with a string crash time is quarantined and the previous generation used', async () => {
    const file = path.join(dir, `${SUPERVISOR_STORE_NAME}.json`);
    const bad = { ...emptySupervisorState(), crashLoop: { crashes: { trading: ['soon'] }, inLoop: {} } };
    fs.writeFileSync(file, envelope(bad));
    fs.writeFileSync(`${file}.prev`, envelope({ ...emptySupervisorState(), eventCursor: 12 }));
    const store = await Store.open<SupervisorState>({
      clock: systemClock,
      dir,
      name: SUPERVISOR_STORE_NAME,
      version: 1,
      defaults: emptySupervisorState,
      validate: validateSupervisorState,
      onCorrupt: 'start-empty',
    });
    try {
      expect(store.openReport.quarantined).to.have.length(1);
      expect(store.data.eventCursor).to.equal(12);
    } finally {
      await store.close();
    }
  });

  it('a restart marker with a wrong type is set aside, not trusted', async () => {
    fs.writeFileSync(selfRestartMarkerPath(dir), JSON.stringify({ chatId: 42, requestedAt: 'now' }));
    expect(await takeSelfRestartMarker(dir)).to.equal(undefined);
    expect(
      fs.readdirSync(dir).some((n) => n.startsWith('telegram-restart-requested.json.corrupt-')),
    ).to.equal(true);
  });
});
