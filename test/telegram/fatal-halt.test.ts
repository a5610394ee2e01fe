/**
 * Stop 33 (repro, fails on main): a fatal error in telegram. The crash handler halts the service before its ~1 s
 * best-effort store flush (shared/lifecycle/crash-handlers.ts): after an uncaught error the process state is unknown,
 * and trading places no order from that moment (its loop listens to the shutdown's signal). telegram's poller, outbox
 * sender and replies listened to nothing: during the flush a poll could hand on — and the next one acknowledge — an
 * update, a command still running could reply, and the outbox could send. Now main.ts stops each of them through
 * the one shutdown mechanism (ShutdownCoordinator.onHalt), as wired here: the real crash handler (on a stand-in
 * `process`, its flush held open by the test like a slow disk, its exit recorded), the real bot on telegraf against
 * the emulator (bot-rig), the real outbox → TelegramSender (alert-path).
 */
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { systemClock } from '../../src/shared/clock';
import { installCrashHandlers } from '../../src/shared/lifecycle/crash-handlers';
import { ShutdownCoordinator } from '../../src/shared/lifecycle/shutdown';
import { silentLogger } from '../../src/shared/logging/logger';
import { eventually } from '../../harness/pm2';
import { startAlertPath, type AlertPath } from '../support/alert-path';
import { startBotRig, type BotRig } from '../support/bot-rig';
import { gate } from '../support/gate';

const ALLOWED = '111';
const ALERTS = '222';
/**
 * How long the test watches for work after the halt: several of the emulator's long polls (held at most 1 s) and
 * outbox send intervals (100 ms) — on main the poll, the reply and the alert each went out well within it.
 */
const WATCH_MS = 3_000;

describe('a fatal error in telegram: nothing is polled, acknowledged, replied or sent during the crash flush', function () {
  this.timeout(60_000);
  let rig: BotRig | undefined;
  let alerts: AlertPath | undefined;
  let removeHandlers: (() => void) | undefined;
  const pm2Answer = gate<[]>();
  const flush = gate();

  after(async () => {
    pm2Answer.open([]);
    flush.open();
    removeHandlers?.();
    await alerts?.close();
    await rig?.close();
  });

  it('halts the poller, the replies and the outbox sender at the fatal error, before the flush', async () => {
    let listed = 0;
    rig = await startBotRig({
      name: 'fatal-halt',
      telegram: { allowedChatIds: [ALLOWED], pollingTimeoutSec: 1 },
      // /status waits for PM2 (held by the test): a command still running when the fatal error comes
      deps: () => ({
        pm2: {
          list: () => {
            listed += 1;
            return pm2Answer.promise;
          },
          restart: () => Promise.resolve(),
        },
      }),
      readyOn: 'first-poll',
    });
    const { emu, bot } = rig;
    alerts = await startAlertPath({
      dir: rig.dir,
      apiRoot: emu.apiRoot,
      token: emu.token,
      logger: silentLogger(),
      defaultChatId: ALERTS,
    });
    const outbox = alerts.outbox;

    // wired as src/telegram/main.ts and shared/lifecycle/service.ts wire them
    const shutdown = new ShutdownCoordinator({
      logger: silentLogger(),
      clock: systemClock,
      exit: () => undefined,
    });
    const exits: number[] = [];
    const proc = new EventEmitter();
    removeHandlers = installCrashHandlers({
      proc: proc as unknown as NodeJS.Process,
      logger: silentLogger(),
      recordCrash: () => undefined,
      halt: (reason) => shutdown.halt(reason),
      flushStores: () => flush.promise,
      flushBudgetMs: 60_000,
      exit: (code) => void exits.push(code),
    });
    shutdown.onHalt(() => outbox.halt());
    shutdown.onHalt(() => bot.halt());

    // the path works: an alert goes out, a command runs
    await outbox.notify({ key: 'before', priority: 'high', text: 'alert before the crash' });
    await emu.waitForMessage((m) => m.text.includes('alert before the crash'), { chatId: ALERTS });
    await emu.sendCommand(ALLOWED, '/status');
    await eventually(() => listed > 0, 10_000, '/status asking PM2');

    // the fatal error comes while a poll is held by the Bot API (asked, not answered yet)
    const pollHeld = (): boolean => {
      const polls = emu.requests.filter((r) => r.method === 'getUpdates');
      return polls.length > 0 && polls[polls.length - 1]!.status === 0;
    };
    await eventually(pollHeld, 10_000, 'a poll held by the Bot API');
    proc.emit('uncaughtException', new Error('deliberate fatal error'));
    const asked = emu.requests.length;

    // during the flush: an update arrives, the running command's answer comes, an alert is queued
    await emu.sendCommand(ALLOWED, '/help');
    pm2Answer.open([]);
    await outbox.notify({ key: 'after', priority: 'critical', text: 'alert after the crash' });
    await new Promise((r) => setTimeout(r, WATCH_MS));

    const later = emu.requests.slice(asked).map((r) => r.method);
    expect(later, 'Bot API requests after the fatal error').to.deep.equal([]);
    expect(
      emu.sentMessages(ALLOWED).map((m) => m.text),
      'replies',
    ).to.deep.equal([]);
    expect(
      emu.sentMessages(ALERTS).map((m) => m.text),
      'alerts',
    ).to.satisfy((texts: string[]) => texts.every((t) => !t.includes('alert after the crash')));
    // the alert is kept for the next run, the flush then the exit follow
    expect(outbox.depth()).to.equal(1);
    expect(exits).to.deep.equal([]);
    flush.open();
    await eventually(() => exits.length > 0, 10_000, 'the exit after the flush');
    expect(exits).to.deep.equal([1]);
  });
});
