/**
 * Review 32g (repro, fails on bd86d8d): the chat moves kept in telegram-outbox.json are checked by the outbox's full
 * schema only field by field — any number of moves, a move onto itself, two moves for one old id, a cycle all
 * passed, and the service followed (and let command) what such a file says. The book never writes one (at most
 * MAX_CHAT_MOVES, each learnable after the ones before: mayLearn), so a file that holds one was not written by it:
 * the Store quarantines it and takes the previous generation, as for any other invalid part of the file.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store } from '../../../src/shared/persistence/store';
import { MAX_CHAT_MOVES, type ChatMove } from '../../../src/telegram/notify/chat-moves';
import { OUTBOX_STORE_NAME, OUTBOX_STORE_VERSION } from '../../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../../src/telegram/notify/outbox-queue';
import { openOutboxStore } from '../../support/alert-path';

const move = (from: string, to: string): ChatMove => ({ from, to, at: 1, via: 'send', told: true });

describe('chat moves in the outbox file: the full schema check — review 32g repro', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-chat-moves-file-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function openWith(chatMoves: ChatMove[]): Promise<Store<OutboxState>> {
    const file = path.join(dir, `${OUTBOX_STORE_NAME}.json`);
    const data = { ...emptyOutboxState(), chatMoves };
    fs.writeFileSync(
      file,
      JSON.stringify({ version: OUTBOX_STORE_VERSION, savedAt: new Date().toISOString(), data }),
    );
    return openOutboxStore(dir, { onCorrupt: 'start-empty' });
  }

  const cases: Array<[string, ChatMove[]]> = [
    [
      `more than ${MAX_CHAT_MOVES} moves`,
      Array.from({ length: MAX_CHAT_MOVES + 1 }, (_, i) => move(`-${i + 1}`, `-100${i + 1}`)),
    ],
    ['a move onto itself', [move('-4001', '-4001')]],
    ['two moves for one old id', [move('-4001', '-1004001'), move('-4001', '-1009999')]],
    ['a cycle', [move('-4001', '-1004001'), move('-1004001', '-4001')]],
  ];
  for (const [what, chatMoves] of cases) {
    it(`${what}: quarantined, not followed`, async () => {
      const store = await openWith(chatMoves);
      try {
        expect(store.openReport.quarantined, 'the file is set aside').to.have.length(1);
        expect(store.data.chatMoves).to.deep.equal([]);
      } finally {
        await store.close();
      }
    });
  }

  it('what the book writes is taken as it is: a chain, up to the bound', async () => {
    const chain = [move('-4001', '-1004001'), move('-1004001', '-1005001')];
    const full = Array.from({ length: MAX_CHAT_MOVES }, (_, i) => move(`-${i + 1}`, `-100${i + 1}`));
    for (const chatMoves of [chain, full]) {
      const store = await openWith(chatMoves);
      try {
        expect(store.openReport.quarantined).to.deep.equal([]);
        expect(store.data.chatMoves).to.deep.equal(chatMoves);
      } finally {
        await store.close();
      }
    }
  });
});
