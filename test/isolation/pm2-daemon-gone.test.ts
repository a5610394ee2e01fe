/**
 * The PM2 daemon itself dies (the OOM killer picks it, an operator's stray kill, a PM2 bug) while the pair runs:
 * what do the services do, and what does the operator learn? Real pair from the shipped ecosystem under a real PM2
 * daemon in a temp PM2_HOME, the real bot against the Bot API emulator. Both stop with it (shutdown.ts PM2_GONE); the
 * operator must hear it then, not whenever they next look: the positions go unwatched. @slow
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Pm2Harness, eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { TelegramEmulator } from '../../harness/telegram-emulator';

const CHAT = '5150';

function alive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}

describe('the PM2 daemon dies under the running pair (real PM2, real bot against the emulator) @slow', function () {
  this.timeout(90_000);
  let harness: Pm2Harness;
  let tg: TelegramEmulator;
  let pids: number[] = [];

  const chat = (): string[] => tg.sentMessages(CHAT).map((m) => m.text);

  before(async () => {
    harness = Pm2Harness.create('bn-r34s-god-');
    tg = await TelegramEmulator.start();
    fs.writeFileSync(path.join(harness.root, '.env'), `TELEGRAM_BOT_TOKEN=${tg.token}\n`, { mode: 0o600 });
    await harness.startEcosystem({
      BYNINJA_IPC_PORT: String(await freePort()),
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_CHAT_ID: CHAT,
      TELEGRAM_ALLOWED_CHAT_IDS: CHAT,
      BYNINJA__TRADING__PAPER__CANDLE_MS: '200',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '200',
      BYNINJA__OUTBOX__PER_CHAT_INTERVAL_MS: '20',
    });
    await eventually(
      () => chat().some((t) => t.includes('last run: first-start')),
      30_000,
      'first start told',
    );
    pids = (await harness.list()).map((a) => a.pid);
    const god = Number(fs.readFileSync(path.join(harness.home, 'pm2.pid'), 'utf8'));
    process.kill(god, 'SIGKILL');
    await eventually(() => !alive(god), 10_000, 'PM2 daemon gone');
  });

  after(async () => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await harness?.stop({ keepFiles: process.env.BYNINJA_KEEP_TEST_FILES === '1' });
    await tg?.stop();
  });

  it('both services stop (nothing would restart them), each leaving a clean last exit that says why', async () => {
    await eventually(() => pids.every((p) => !alive(p)), 15_000, 'both services stopped');
    for (const service of ['trading', 'telegram']) {
      const crumb = JSON.parse(
        fs.readFileSync(path.join(harness.dataDir, `${service}.last-exit.json`), 'utf8'),
      ) as { kind: string; reason: string };
      expect(crumb, service).to.include({ kind: 'clean', reason: 'PM2 parent gone (IPC channel closed)' });
    }
  });

  it('the chat is told at once: the pair stopped with PM2, positions unwatched, and how to start it again', async () => {
    // before the fix the chat got nothing: the pair went quiet until the operator happened to look
    const told = await eventually(
      () => tg.sentMessages(CHAT).find((m) => m.text.includes('PM2 daemon died at')),
      15_000,
      'the PM2-gone alert in the chat',
    );
    expect(told.text).to.match(/unwatched/);
    expect(told.text).to.include('npm start');
  });
});
