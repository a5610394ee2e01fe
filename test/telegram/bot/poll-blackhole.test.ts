/**
 * Field review 32 (repro, fails on main): a long poll that is never answered. getUpdates is asked with `timeout`
 * (telegram.pollingTimeoutSec): the Bot API answers within it ("Timeout in seconds for long polling"), with the
 * updates or an empty list. A connection that a NAT or firewall forgot, a Wi-Fi switch or a suspended VM gives no
 * FIN and no RST: the request waits for an answer that never comes. UpdatePoller passes only its stop signal, so the
 * one getUpdates in flight waits for telegraf's fixed client timeout (500,000 ms, node_modules/telegraf/lib/core/
 * network/client.js) — over 8 minutes during which no command is received, and nothing is logged or reported.
 * The outbox has sendTimeoutMs for the same reason; the poller has none.
 *
 * Real telegraf against the emulator, whose `blackhole` fault takes one getUpdates and never answers it.
 */
import { expect } from 'chai';
import { eventually } from '../../../harness/pm2';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { startBotRig, type BotRig } from '../../support/bot-rig';

const ALLOWED = '111';
const POLL_TIMEOUT_SEC = 1;

describe('a getUpdates never answered (half-open connection) — review 32 repro', function () {
  this.timeout(60_000);
  let emu: TelegramEmulator;
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'poll-blackhole',
      telegram: { allowedChatIds: [ALLOWED], pollingTimeoutSec: POLL_TIMEOUT_SEC },
      deps: () => ({ poller: { backoffBaseMs: 100, backoffMaxMs: 500 } }),
      readyOn: 'first-poll',
    });
    ({ emu } = rig);
  });

  after(() => rig?.close());

  it('a command sent after one poll went unanswered is still answered (the dead poll is given up and asked again)', async () => {
    const polls = (): number => emu.requests.filter((r) => r.method === 'getUpdates').length;
    // the next getUpdates is taken and never answered; every later one is served normally
    emu.setFault('blackhole', { count: 1, methods: ['getUpdates'] });
    const before = polls();
    await eventually(() => polls() > before, 10_000, 'the poll that goes unanswered');
    await emu.sendCommand(ALLOWED, '/help');
    // 20 long-poll timeouts: a poller that gives up an unanswered poll after its timeout and a margin is long back
    const reply = await emu
      .waitForMessage((m) => m.chatId === ALLOWED, {
        chatId: ALLOWED,
        timeoutMs: 20 * POLL_TIMEOUT_SEC * 1000,
      })
      .catch(() => undefined);
    expect(
      reply,
      `no reply: getUpdates requests after the unanswered one: ${polls() - before - 1} (the poll waits for telegraf's 500 s client timeout)`,
    ).to.not.equal(undefined);
  });
});
