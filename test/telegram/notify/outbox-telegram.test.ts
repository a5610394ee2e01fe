/**
 * The outbox with the real telegraf sender against the local Bot API emulator: Telegram's own failure answers
 * (429 with retry_after, 5xx, connection resets) and what reaches the chat.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { silentLogger } from '../../../src/shared/logging/logger';
import { Store } from '../../../src/shared/persistence/store';
import { TelegramSender } from '../../../src/telegram/bot/telegram-sender';
import { Outbox } from '../../../src/telegram/notify/outbox';
import type { OutboxState } from '../../../src/telegram/notify/outbox-queue';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { openOutboxStore } from '../../support/alert-path';

describe('Outbox → telegraf → Bot API emulator', function () {
  this.timeout(30_000);
  let tg: TelegramEmulator;
  let dir: string;
  let store: Store<OutboxState>;
  let outbox: Outbox;

  beforeEach(async () => {
    tg = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-outbox-tg-'));
    store = await openOutboxStore(dir);
    outbox = new Outbox({
      store,
      sender: new TelegramSender({ token: tg.token, apiRoot: tg.apiRoot }),
      settings: { maxSize: 100, perChatIntervalMs: 100, globalPerSecond: 25, coalesceWindowMs: 60_000 },
      defaultChatId: '42',
      logger: silentLogger(),
      clock: systemClock,
      baseBackoffMs: 100,
      maxBackoffMs: 500,
    });
  });

  afterEach(async () => {
    await outbox.close();
    await store.close();
    await tg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('honours 429 retry_after: no sendMessage before it passes, then the message arrives', async () => {
    tg.setFault('429', { retryAfterSec: 2, count: 1, methods: ['sendMessage'] });
    await outbox.notify({ key: 'a', priority: 'high', text: '<b>rate limited</b>' });
    outbox.start();
    const msg = await tg.waitForMessage((m) => m.text === '<b>rate limited</b>');
    const sends = tg.requests.filter((r) => r.method === 'sendMessage');
    expect(sends[0].status).to.equal(429);
    expect(sends[1].at - sends[0].at, 'second attempt only after retry_after').to.be.at.least(2000);
    expect(msg.at - sends[0].at).to.be.at.least(2000);
    expect(msg.parseMode).to.equal('HTML');
  });

  it('keeps retrying through 5xx and resets and delivers everything once Telegram is back', async () => {
    tg.setFault('5xx');
    outbox.start();
    for (const k of ['one', 'two', 'three']) await outbox.notify({ key: k, priority: 'normal', text: k });
    await eventually(() => tg.requests.filter((r) => r.status === 502).length >= 2, 5_000, 'retries on 502');
    tg.setFault('down');
    await eventually(() => tg.requests.filter((r) => r.status === 0).length >= 1, 5_000, 'retries on reset');
    expect(outbox.depth()).to.equal(3);
    tg.setFault(null);
    await eventually(() => tg.sentMessages('42').length === 3, 10_000, 'all three delivered');
    expect(tg.sentMessages('42').map((m) => m.text)).to.deep.equal(['one', 'two', 'three']);
    // the emulator has the third message before the outbox has committed its removal (an fsync away)
    await eventually(() => outbox.depth() === 0, 5_000, 'the outbox empty once the last removal is durable');
  });

  it('sends silent notifications without sound', async () => {
    outbox.start();
    await outbox.notify({ key: 'quiet', priority: 'low', text: 'quiet', silent: true });
    const m = await tg.waitForMessage((x) => x.text === 'quiet');
    expect(m.silent).to.equal(true);
  });
});
