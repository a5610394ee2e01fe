/**
 * Stop 34 (fix34t, repro: fails on main): while the token is refused (401) or a chat refuses the bot (403), each of
 * that chat's alerts went to the log and counted as delivered; once the chat took messages again, delivery resumed,
 * but what went to the log meanwhile was only in `pm2 logs` — the operator who unblocked the bot (or fixed the token
 * and restarted) never learned in Telegram that trading crashed or a stop-loss fired. Now the chat gets one digest
 * of them, its own only, and the record survives a restart of the service.
 *
 * Real telegraf against the emulator, which refuses a chat as the Bot API does (403 "Forbidden: bot was blocked by
 * the user") or the token (401); the alert path as main.ts wires it over a real store on disk
 * (test/support/alert-path.ts).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator, type SentMessage } from '../../../harness/telegram-emulator';
import { startAlertPath, type AlertPath } from '../../support/alert-path';
import { captureLogger } from '../../support/capture-logger';

const ALERTS = '5151';
const OTHER = '777';
const isDigest = (m: SentMessage): boolean => m.text.includes('went to the log only');

describe('alerts that went to the log while Telegram refused a chat reach it as a digest after', function () {
  this.timeout(30_000);
  let emu: TelegramEmulator | undefined;
  const paths: AlertPath[] = [];
  let dir: string;
  let captured = captureLogger();
  const logged = (text: string): boolean =>
    captured.lines.some((l) => l.message.startsWith('📣') && l.message.includes(text));

  /** One run of telegram's alert path over `dir` (the Bot API's refusal backoff short: the chat is tried at once). */
  async function run(): Promise<AlertPath> {
    const p = await startAlertPath({
      dir,
      apiRoot: emu!.apiRoot,
      token: emu!.token,
      logger: captured.logger,
      defaultChatId: ALERTS,
      refusalBackoffMs: 1,
    });
    paths.push(p);
    return p;
  }

  beforeEach(async () => {
    captured = captureLogger();
    emu = await TelegramEmulator.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-log-digest-'));
  });

  afterEach(async () => {
    for (const p of paths.splice(0)) await p.close();
    await emu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the alert chat blocked the bot: once it takes messages again it gets one digest of its own alerts, escaped', async () => {
    const alerts = await run();
    emu!.refuseChat(ALERTS);
    await alerts.outbox.notify({
      key: 'crash:trading',
      priority: 'high',
      text: '💥 <b>trading crashed</b>\nexit code 1',
    });
    await alerts.outbox.notify({
      key: 'event:1',
      priority: 'high',
      text: '🛑 <b>Stop-loss &lt;BTC/USDT&gt; fired</b>\nsold 0.01',
    });
    await alerts.outbox.notify({ key: 'side', priority: 'high', chatId: OTHER, text: 'restart confirmed' });
    await eventually(
      () => logged('trading crashed') && logged('Stop-loss <BTC/USDT> fired'),
      10_000,
      'both alerts in the log',
    );
    await eventually(() => emu!.sentMessages(OTHER).length > 0, 10_000, 'the side chat served');
    expect(emu!.sentMessages(ALERTS)).to.deep.equal([]);

    emu!.refuseChat(ALERTS, null);
    await alerts.outbox.notify({ key: 'online:trading', priority: 'normal', text: '✅ trading back online' });
    const digest = await emu!.waitForMessage(isDigest, { chatId: ALERTS });
    expect(digest.text).to.match(/^📭 <b>2 alerts went to the log only<\/b>/);
    expect(digest.text).to.include('💥 trading crashed');
    expect(digest.text).to.include('🛑 Stop-loss &lt;BTC/USDT&gt; fired');
    expect(digest.text, "never another chat's text").not.to.include('restart confirmed');
    expect(digest.parseMode).to.equal('HTML');

    // once: a later alert comes alone, and the record is gone from the file
    await alerts.outbox.notify({ key: 'later', priority: 'normal', text: 'later alert' });
    await emu!.waitForMessage((m) => m.text === 'later alert', { chatId: ALERTS });
    expect(emu!.sentMessages(ALERTS).map((m) => (isDigest(m) ? 'digest' : m.text))).to.deep.equal([
      '✅ trading back online',
      'digest',
      'later alert',
    ]);
    expect(alerts.store.data.loggedOnly).to.deep.equal([]);
    expect(emu!.sentMessages(OTHER).some(isDigest), 'the side chat owed nothing').to.equal(false);
    // the log lines stay as they were
    expect(logged('trading crashed')).to.equal(true);
  });

  it("a side chat that refused gets its own digest, and the alert chat sees none of the side chat's text", async () => {
    const alerts = await run();
    emu!.refuseChat(OTHER);
    await alerts.outbox.notify({ key: 'side', priority: 'high', chatId: OTHER, text: 'restart confirmed' });
    await eventually(() => logged('restart confirmed'), 10_000, "the side chat's message in the log");
    await alerts.outbox.notify({ key: 'crash', priority: 'critical', text: 'trading crashed' });
    await emu!.waitForMessage((m) => m.text === 'trading crashed', { chatId: ALERTS });

    emu!.refuseChat(OTHER, null);
    await alerts.outbox.notify({ key: 'side2', priority: 'high', chatId: OTHER, text: 'hello again' });
    const digest = await emu!.waitForMessage(isDigest, { chatId: OTHER });
    expect(digest.text).to.include('1 alert went to the log only').and.include('restart confirmed');
    expect(digest.text).not.to.include('trading crashed');
    expect(emu!.sentMessages(ALERTS).map((m) => m.text)).to.deep.equal(['trading crashed']);
  });

  it('across a restart of the service (the token fixed, telegram restarted): the record survives and the chat gets it at start', async () => {
    const first = await run();
    emu!.setFault('401');
    await first.outbox.notify({ key: 'crash:trading', priority: 'high', text: '💥 <b>trading crashed</b>' });
    await first.outbox.notify({ key: 'online:trading', priority: 'normal', text: '✅ trading back online' });
    await eventually(
      () => logged('trading crashed') && logged('trading back online'),
      10_000,
      'the alerts in the log',
    );
    await eventually(() => first.store.data.loggedOnly[0]?.count === 2, 10_000, 'both noted');
    await first.close();
    emu!.setFault(null);

    await run();
    const digest = await emu!.waitForMessage(isDigest, { chatId: ALERTS });
    expect(digest.text).to.include('2 alerts went to the log only');
    expect(digest.text).to.include('💥 trading crashed').and.include('✅ trading back online');
    expect(emu!.sentMessages()).to.have.length(1);
  });

  it('the digest is an outbox entry: kept while Telegram is down, across another restart, retried after a 502, sent once', async () => {
    const first = await run();
    emu!.refuseChat(ALERTS);
    await first.outbox.notify({ key: 'crash:trading', priority: 'high', text: '💥 <b>trading crashed</b>' });
    await eventually(() => first.store.data.loggedOnly.length === 1, 10_000, 'the alert noted');
    await first.close();

    // the next start queues the digest, but Telegram cannot be reached: it waits in the outbox
    emu!.refuseChat(ALERTS, null);
    emu!.setFault('down');
    const second = await run();
    await eventually(
      () => second.store.data.entries.some((e) => e.digest) && second.store.data.loggedOnly.length === 0,
      10_000,
      'the digest queued',
    );
    await second.close();

    // a third start: the queued digest is sent (after a 502, retried), and no second one is made
    emu!.setFault('5xx', { count: 1, methods: ['sendMessage'] });
    const third = await run();
    await emu!.waitForMessage(isDigest, { chatId: ALERTS });
    await third.outbox.notify({ key: 'later', priority: 'normal', text: 'later alert' });
    await emu!.waitForMessage((m) => m.text === 'later alert', { chatId: ALERTS });
    expect(emu!.requests.filter((r) => r.method === 'sendMessage' && r.status === 502)).to.have.length(1);
    expect(emu!.sentMessages(ALERTS).map((m) => (isDigest(m) ? 'digest' : m.text))).to.deep.equal([
      'digest',
      'later alert',
    ]);
    // the entry leaves the outbox once the answer to its send is in: the emulator has the message a moment before
    await eventually(() => third.store.data.entries.length === 0, 10_000, 'the outbox emptied');
    expect(third.store.data.entries).to.deep.equal([]);
  });
});
