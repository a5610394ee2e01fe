/**
 * The telegram daemon end to end: the bundled dist/daemons/telegram.js under a real PM2 (temp PM2_HOME), a
 * trading stand-in built from the real IPC server + event log (test/fixtures/supervisor/fake-trading), and the
 * real telegraf against a local Bot API emulator. @slow
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { Pm2Client, type Pm2ProcessView } from '../../src/ops/pm2-client';
import { DAEMON_SCRIPTS, Pm2Harness, eventually } from '../../harness/pm2';
import { TelegramEmulator } from '../../harness/telegram-emulator';
import { freePort } from '../../harness/ports';

const TELEGRAM_MAIN = DAEMON_SCRIPTS.telegram;
const FAKE_TRADING = path.join(__dirname, '..', 'fixtures', 'supervisor', 'fake-trading.js');
const CHAT = '5150';
const EVENTS = 30;

describe('telegram service under PM2 @slow', function () {
  this.timeout(90_000);
  let harness: Pm2Harness;
  let tg: TelegramEmulator;
  let env: Record<string, string | undefined>;
  let pm2: Pm2Client;

  const telegramLog = (): string => harness.readLog('telegram.out.log') + harness.readLog('telegram.err.log');
  const fills = (): string[] =>
    tg
      .sentMessages(CHAT)
      .filter((m) => m.text.includes('Order filled'))
      .map((m) => /fill #(\d+)/.exec(m.text)?.[1] ?? '?');

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
    await waitForApp(name, (p) => p.status === 'online' && p.pid !== before.pid, 'restarted');
  }

  before(async () => {
    harness = Pm2Harness.create('bnj-tgs-');
    tg = await TelegramEmulator.start();
    const configFile = path.join(harness.root, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        outbox: { perChatIntervalMs: 20, globalPerSecond: 30, coalesceWindowMs: 2_000 },
        ipc: { heartbeatMs: 500, requestTimeoutMs: 2_000 },
        supervisor: { hangTimeoutMs: 6_000, hangAction: 'restart' },
        telegram: { notifications: { orderFilled: 'on', recovery: 'on' } },
      }),
    );
    env = {
      BYNINJA_CONFIG: configFile,
      BYNINJA_IPC_PORT: String(await freePort()),
      BYNINJA_IPC_TOKEN: crypto.randomBytes(24).toString('hex'),
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_CHAT_ID: CHAT,
      TELEGRAM_ALLOWED_CHAT_IDS: CHAT,
      FAKE_EVENTS: String(EVENTS),
      FAKE_EVENT_EVERY_MS: '80',
    };
    await harness.startScript('trading', FAKE_TRADING, { env });
    await harness.startScript('telegram', TELEGRAM_MAIN, { env });
    pm2 = new Pm2Client({ pm2Home: harness.home, clock: systemClock });
    await eventually(
      () => telegramLog().includes('listening to PM2 process events'),
      20_000,
      'telegram listening to PM2',
    );
  });

  after(async () => {
    await pm2?.disconnect();
    await harness?.stop();
    await tg?.stop();
  });

  it('SIGKILL of trading → crash alert, then back online with trading’s recovery summary', async () => {
    await sigkill('trading');
    const crash = await tg.waitForMessage((m) => m.text.includes('trading crashed'), { chatId: CHAT });
    expect(crash.text).to.contain('killed by a signal');
    const online = await tg.waitForMessage((m) => m.text.includes('trading back online after a crash'), {
      chatId: CHAT,
    });
    expect(online.text, online.text).to.contain('last run: killed');
    expect(online.text).to.contain('restored 2 open orders, 1 open position');
    // the recovery event was merged into the online alert, not sent a second time
    await new Promise((r) => setTimeout(r, 500));
    const standalone = tg.sentMessages(CHAT).filter((m) => m.text.includes('Trading recovered its state'));
    expect(standalone.filter((m) => m.text.includes('last run: killed'))).to.have.length(0);
  });

  it('SIGKILL of telegram while trading events flow (Bot API down) → every event delivered exactly once', async () => {
    tg.setFault('down', { methods: ['sendMessage'] });
    fs.writeFileSync(path.join(harness.dataDir, 'fake-trading.go'), '');
    const published = (): number => {
      try {
        return (
          JSON.parse(fs.readFileSync(path.join(harness.dataDir, 'fake-trading-published.json'), 'utf8')) as {
            published: number;
          }
        ).published;
      } catch {
        return 0;
      }
    };
    await eventually(() => published() >= EVENTS / 3, 20_000, 'a third of the events published');
    await sigkill('telegram');
    await eventually(() => published() >= EVENTS, 30_000, 'all events published');
    tg.setFault(null);
    await eventually(() => new Set(fills()).size === EVENTS, 30_000, `all ${EVENTS} fills delivered`);
    await new Promise((r) => setTimeout(r, 1_000)); // any duplicate would be on its way by now
    const got = fills();
    const counts = new Map<string, number>();
    for (const n of got) counts.set(n, (counts.get(n) ?? 0) + 1);
    expect(
      [...counts.entries()].filter(([, c]) => c > 1),
      'duplicates',
    ).to.deep.equal([]);
    expect(got.length).to.equal(EVENTS);
    const unclean = await tg.waitForMessage(
      (m) => m.text.includes('telegram restarted after an unclean end'),
      { chatId: CHAT },
    );
    expect(unclean.text).to.contain('killed');
  });

  it('trading online in PM2 but not answering its heartbeat → hang alert, restart through PM2, back online', async () => {
    const before = await waitForApp('trading', (p) => p.status === 'online' && p.pid > 0, 'online');
    const hangFile = path.join(harness.dataDir, 'fake-trading.hang');
    fs.writeFileSync(hangFile, '');
    const hang = await tg.waitForMessage((m) => m.text.includes('trading hangs'), {
      chatId: CHAT,
      timeoutMs: 30_000,
    });
    fs.rmSync(hangFile);
    expect(hang.text).to.contain('Restarting it through PM2');
    await waitForApp(
      'trading',
      (p) => p.status === 'online' && p.pid !== before.pid,
      'restarted after the hang',
    );
    await tg.waitForMessage((m) => m.text.includes('trading back online after the hang restart'), {
      chatId: CHAT,
      timeoutMs: 20_000,
    });
  });

  it('without TELEGRAM_BOT_TOKEN runs log-only: a clear warning, and alerts in its log', async () => {
    await harness.pm2(['delete', 'telegram']);
    await harness.startScript('telegram', TELEGRAM_MAIN, { env: { ...env, TELEGRAM_BOT_TOKEN: undefined } });
    await eventually(() => telegramLog().includes('LOG-ONLY MODE'), 20_000, 'log-only warning');
    await eventually(
      () => (telegramLog().match(/listening to PM2 process events/g) ?? []).length >= 3,
      20_000,
      'listener up',
    );
    const sentBefore = tg.sentMessages().length;
    await sigkill('trading');
    await eventually(() => /📣 💥 trading crashed/.test(telegramLog()), 20_000, 'crash alert in the log');
    expect(tg.sentMessages().length, 'nothing sent to Telegram').to.equal(sentBefore);
  });
});
