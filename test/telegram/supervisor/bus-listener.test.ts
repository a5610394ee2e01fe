/**
 * The supervisor against a real PM2 daemon (temp PM2_HOME) running real apps on the real lifecycle, with alerts
 * going through the real outbox and the real telegraf sender to a local Bot API emulator. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../../src/shared/clock';
import { Pm2Client, type Pm2ProcessView } from '../../../src/ops/pm2-client';
import { silentLogger } from '../../../src/shared/logging/logger';
import { Store } from '../../../src/shared/persistence/store';
import { TelegramSender } from '../../../src/telegram/bot/telegram-sender';
import {
  OUTBOX_STORE_NAME,
  OUTBOX_STORE_VERSION,
  Outbox,
  validateOutboxState,
} from '../../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../../src/telegram/notify/outbox-queue';
import { BusListener } from '../../../src/telegram/supervisor/bus-listener';
import {
  SUPERVISOR_STORE_NAME,
  SUPERVISOR_STORE_VERSION,
  emptySupervisorState,
  validateSupervisorState,
  type SupervisorState,
} from '../../../src/telegram/supervisor/supervisor-state';
import { Pm2Harness, eventually } from '../../../harness/pm2';
import { TelegramEmulator, type SentMessage } from '../../../harness/telegram-emulator';

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'supervisor', 'supervised-app.js');
const CRASHER = path.join(__dirname, '..', '..', 'fixtures', 'supervisor', 'crasher.js');
const CHAT = '4242';

describe('supervisor with real PM2 → outbox → Telegram emulator @slow', function () {
  this.timeout(60_000);
  let harness: Pm2Harness;
  let tg: TelegramEmulator;
  let pm2: Pm2Client;
  let stateDir: string;
  let outboxStore: Store<OutboxState>;
  let supervisorStore: Store<SupervisorState>;
  let outbox: Outbox;
  let listener: BusListener;

  const openSupervisorStore = () =>
    Store.open<SupervisorState>({
      clock: systemClock,
      dir: stateDir,
      name: SUPERVISOR_STORE_NAME,
      version: SUPERVISOR_STORE_VERSION,
      defaults: emptySupervisorState,
      validate: validateSupervisorState,
    });
  const newListener = (store: Store<SupervisorState>) =>
    new BusListener({
      pm2,
      notifier: outbox,
      store,
      dataDir: harness.dataDir,
      settings: { crashLoopCount: 3, crashLoopWindowMs: 60_000, crashLoopAction: 'stop-trading' },
      logger: silentLogger(),
      onlineHoldMs: 300,
      recoveryWaitMs: 300,
      clock: systemClock,
    });
  const messagesAfter = (mark: number, match: (m: SentMessage) => boolean) =>
    tg.sentMessages(CHAT).slice(mark).filter(match);
  /** Sum of the ×N counters of coalesced messages (1 for a plain one). */
  const occurrences = (ms: SentMessage[]) =>
    ms.reduce((a, m) => a + Number(/×(\d+) in/.exec(m.text)?.[1] ?? 1), 0);

  /** Polls PM2 through the in-process client (cheaper than spawning the pm2 CLI for every look). */
  async function waitForApp(
    name: string,
    ok: (p: Pm2ProcessView) => boolean,
    what: string,
  ): Promise<Pm2ProcessView> {
    return eventually(
      async () => (await pm2.list()).find((p) => p.name === name && ok(p)),
      30_000,
      `${name}: ${what}`,
    );
  }

  async function sigkill(name: string): Promise<void> {
    const before = await waitForApp(name, (p) => p.status === 'online' && p.pid > 0, 'online');
    process.kill(before.pid, 'SIGKILL');
    await waitForApp(
      name,
      (p) => p.status === 'online' && p.restarts > before.restarts && p.pid !== before.pid,
      'restarted',
    );
  }

  before(async () => {
    harness = Pm2Harness.create('bnj-sup-');
    tg = await TelegramEmulator.start();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-sup-state-'));
    await harness.startScript('worker', FIXTURE, { env: { FIXTURE_SERVICE: 'worker' } });
    pm2 = new Pm2Client({ pm2Home: harness.home, clock: systemClock });
    outboxStore = await Store.open<OutboxState>({
      clock: systemClock,
      dir: stateDir,
      name: OUTBOX_STORE_NAME,
      version: OUTBOX_STORE_VERSION,
      defaults: emptyOutboxState,
      validate: validateOutboxState,
    });
    outbox = new Outbox({
      store: outboxStore,
      sender: new TelegramSender({ token: tg.token, apiRoot: tg.apiRoot }),
      settings: { maxSize: 100, perChatIntervalMs: 50, globalPerSecond: 25, coalesceWindowMs: 60_000 },
      defaultChatId: CHAT,
      logger: silentLogger(),
      clock: systemClock,
      baseBackoffMs: 200,
      maxBackoffMs: 1_000,
    });
    outbox.start();
    supervisorStore = await openSupervisorStore();
    listener = newListener(supervisorStore);
    await listener.start();
  });

  after(async () => {
    await listener?.close();
    await outbox?.close();
    await supervisorStore?.close();
    await outboxStore?.close();
    await pm2?.disconnect();
    await harness?.stop();
    await tg?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('a SIGKILLed app is reported as killed by a signal with its restart, then back online', async () => {
    const mark = tg.sentMessages(CHAT).length;
    await sigkill('worker');
    const crash = await tg.waitForMessage((m) => m.text.includes('worker crashed'), { chatId: CHAT });
    expect(crash.text).to.contain('killed by a signal');
    expect(crash.text).to.match(/restart #1 in \d+ ms/);
    await tg.waitForMessage((m) => m.text.includes('worker back online after a crash'), { chatId: CHAT });
    expect(messagesAfter(mark, (m) => m.text.includes('worker crashed'))).to.have.length(1);
  });

  it('crashes during a Bot API outage all arrive after it returns, coalesced, none lost', async () => {
    const mark = tg.sentMessages(CHAT).length;
    tg.setFault('down');
    for (let i = 0; i < 2; i++) await sigkill('worker');
    await eventually(() => outbox.depth() >= 2, 5_000, 'alerts queued in the outbox');
    expect(tg.sentMessages(CHAT).length, 'nothing delivered during the outage').to.equal(mark);
    tg.setFault(null);
    await eventually(
      () => occurrences(messagesAfter(mark, (m) => m.text.includes('worker crashed'))) === 2,
      15_000,
      '2 crash alerts',
    );
    await eventually(
      () => occurrences(messagesAfter(mark, (m) => m.text.includes('worker back online'))) === 2,
      15_000,
      '2 online',
    );
    const crashMessages = messagesAfter(mark, (m) => m.text.includes('worker crashed'));
    expect(crashMessages.length, 'coalesced into one message').to.equal(1);
    expect(crashMessages.some((m) => /×\d+ in/.test(m.text))).to.equal(true);
  });

  it('reports crashes that happened while the supervisor was not running (re-sync from pm2.list)', async () => {
    await listener.close();
    await supervisorStore.close();
    await sigkill('worker');
    const mark = tg.sentMessages(CHAT).length;
    supervisorStore = await openSupervisorStore();
    listener = newListener(supervisorStore);
    await listener.start();
    const missed = await tg.waitForMessage(
      (m) => m.text.includes('worker restarted once while telegram was not running'),
      {
        chatId: CHAT,
      },
    );
    expect(missed.text).to.contain('killed by a signal');
    expect(messagesAfter(mark, (m) => m.text.includes('worker crashed'))).to.have.length(0);
  });

  it('a crash loop raises a critical alert and (stop-trading) stops trading through PM2', async () => {
    await harness.startScript('trading', CRASHER, {
      env: { FIXTURE_CRASH_AFTER_MS: '100' },
      pm2Args: ['--max-restarts', '50'],
    });
    const loop = await tg.waitForMessage((m) => m.text.includes('trading is in a crash loop'), {
      chatId: CHAT,
      timeoutMs: 30_000,
    });
    expect(loop.text).to.match(/4 crashes in/);
    expect(loop.text).to.contain('Stopping trading');
    await waitForApp('trading', (p) => p.status === 'stopped', 'stopped after the crash loop');
    const crash = tg.sentMessages(CHAT).find((m) => m.text.includes('trading crashed'))!;
    expect(crash.text).to.contain('exit code 1');
  });
});
