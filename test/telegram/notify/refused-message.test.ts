/**
 * An alert Telegram refuses as a message (400 "can't parse entities", "text must be encoded in UTF-8", "message is too
 * long": what a cut or a redaction that broke its HTML produces; review 44g) is sent again as plain text, the same
 * words (outbox.ts sendPlain). Before, it was dropped with one error line in `pm2 logs`, and the chat never heard of
 * it: a crash or risk alert must not end so.
 */
import { expect } from 'chai';
import { OperationalError } from '../../../src/shared/errors';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { MessageSender } from '../../../src/telegram/notify/notification';
import { Outbox } from '../../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../../src/telegram/notify/outbox-queue';
import { FakeClock, flush } from '../../support/fake-clock';
import { MemoryStore } from '../../support/memory-store';
import { parseTelegramHtml } from '../../../harness/telegram-html';

/** Telegram as far as parse_mode HTML goes: refuses what its parser refuses, takes anything as plain text. */
class HtmlCheckingTelegram implements MessageSender {
  delivered: string[] = [];
  send(_chatId: string, html: string, opts: { silent?: boolean; plain?: boolean }): Promise<void> {
    try {
      this.delivered.push(opts.plain ? html : parseTelegramHtml(html));
    } catch (err) {
      return Promise.reject(new OperationalError((err as Error).message, { code: 400 }));
    }
    return Promise.resolve();
  }
}

describe('an alert Telegram refuses as a message (review 44g)', () => {
  it('still reaches the chat in some form (not only one error line in the log)', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore<OutboxState>(emptyOutboxState());
    const telegram = new HtmlCheckingTelegram();
    const outbox = new Outbox({
      store,
      sender: telegram,
      settings: { maxSize: 50, perChatIntervalMs: 1000, globalPerSecond: 25, coalesceWindowMs: 120_000 },
      defaultChatId: '42',
      logger: silentLogger(),
      clock,
      random: () => 0.5,
    });
    outbox.start();
    try {
      // an alert whose HTML broke on its way (here: a closing tag lost, as the redaction of a secret shape does)
      await outbox.notify({
        key: 'crash:trading',
        priority: 'critical',
        text: '💥 <b>trading crashed</b>\n<code>GET /api/v3/order?signature=[REDACTED]',
      });
      for (let i = 0; i < 20 && outbox.depth() > 0; i++) {
        await clock.advance(2_000);
        await flush();
      }
      expect(outbox.depth(), 'the alert left the outbox').to.equal(0);
      const told =
        telegram.delivered.some((t) => t.includes('trading crashed')) ||
        store.data.loggedOnly.some((r) => r.count > 0);
      expect(told, 'the chat got the alert, or is owed it in a digest').to.equal(true);
    } finally {
      await outbox.close();
    }
  });
});
