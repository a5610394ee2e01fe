/**
 * Stop 34 (fix34t): the log-only records (`loggedOnly` of telegram-outbox.json) and digest entries are checked by
 * the outbox's full schema. What the outbox writes — a record per chat, at most LOG_DIGEST_ITEMS alerts listed, no
 * more listed than counted — loads as it is, and so does a file from before the field existed; anything else was not
 * written by it: the Store quarantines the file and takes the previous generation, as for any other invalid part.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Store } from '../../../src/shared/persistence/store';
import {
  LOG_DIGEST_ITEMS,
  noteLogged,
  takeDigest,
  type LogOnlyRecord,
} from '../../../src/telegram/notify/log-digest';
import { OUTBOX_STORE_NAME, OUTBOX_STORE_VERSION } from '../../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../../src/telegram/notify/outbox-queue';
import { openOutboxStore } from '../../support/alert-path';

const alert = (i: number) => ({ at: 1_000 + i, priority: 'high' as const, line: `alert ${i}`, count: 1 });
const record = (chatId: string, n: number, count = n): LogOnlyRecord => ({
  chatId,
  since: 1_000,
  count,
  alerts: Array.from({ length: n }, (_, i) => alert(i)),
});

describe('log-only records in the outbox file: the full schema check', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-log-digest-file-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function openWith(data: unknown): Promise<Store<OutboxState>> {
    const file = path.join(dir, `${OUTBOX_STORE_NAME}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({ version: OUTBOX_STORE_VERSION, savedAt: new Date().toISOString(), data }),
    );
    return openOutboxStore(dir, { onCorrupt: 'start-empty' });
  }

  const cases: Array<[string, unknown]> = [
    [
      `more than ${LOG_DIGEST_ITEMS} alerts listed`,
      { ...emptyOutboxState(), loggedOnly: [record('42', LOG_DIGEST_ITEMS + 1)] },
    ],
    ['more alerts listed than counted', { ...emptyOutboxState(), loggedOnly: [record('42', 3, 2)] }],
    ['two records for one chat', { ...emptyOutboxState(), loggedOnly: [record('42', 1), record('42', 1)] }],
    [
      'a record with a string count',
      { ...emptyOutboxState(), loggedOnly: [{ ...record('42', 1), count: '1' }] },
    ],
  ];
  for (const [what, data] of cases) {
    it(`${what}: quarantined`, async () => {
      const store = await openWith(data);
      try {
        expect(store.openReport.quarantined, 'the file is set aside').to.have.length(1);
        expect(store.data.loggedOnly).to.deep.equal([]);
      } finally {
        await store.close();
      }
    });
  }

  it('a file from before log-only records loads, with none', async () => {
    const { loggedOnly: _none, ...older } = emptyOutboxState();
    const store = await openWith({ ...older, nextId: 3 });
    try {
      expect(store.openReport.quarantined).to.deep.equal([]);
      expect(store.data.loggedOnly).to.deep.equal([]);
      expect(store.data.nextId).to.equal(3);
    } finally {
      await store.close();
    }
  });

  it('what the outbox writes (records up to the bound, a digest entry) is read back as it was', async () => {
    const first = await openOutboxStore(dir);
    const entry = (chatId: string, i: number) => ({
      id: i,
      key: `k${i}`,
      priority: 'critical' as const,
      text: `<b>alert ${i}</b>`,
      silent: false,
      chatId,
      firstAt: 1_000 + i,
      lastAt: 1_000 + i,
      count: 2,
      attempts: 0,
    });
    await first.commit((d) => {
      for (let i = 0; i < 100; i++) noteLogged(d.loggedOnly, entry('42', i));
      noteLogged(d.loggedOnly, entry('777', 1));
      takeDigest(d, '777');
    });
    const written = structuredClone(first.data);
    await first.close();
    expect(written.loggedOnly[0].alerts).to.have.length(LOG_DIGEST_ITEMS);
    expect(written.entries[0].digest?.count).to.equal(2);

    const again = await openOutboxStore(dir, { onCorrupt: 'start-empty' });
    try {
      expect(again.openReport.quarantined).to.deep.equal([]);
      expect(again.data.loggedOnly).to.deep.equal(written.loggedOnly);
      expect(again.data.entries).to.deep.equal(written.entries);
    } finally {
      await again.close();
    }
  });
});
