/**
 * Field review 32 (repro, fails on main): a reply to a command during a flood wait. Telegram answers 429 with
 * `parameters.retry_after`, "the number of seconds left to wait before the request can be repeated" (Bot API,
 * ResponseParameters); a group takes at most 20 messages a minute, so a wait of tens of seconds is ordinary in the
 * alert group while alerts flow. The bot's replies (bot.ts send(): shared/retry.ts, 4 attempts, each wait capped at
 * maxDelayMs 15 s, retry_after included) ask again before the wait is over: each early try is refused again, and a
 * wait past ~45 s loses the reply — /closeall's or /settle's outcome included (the "Command failed" note that
 * follows is refused the same way).
 *
 * Real telegraf against the emulator, whose 429 `floodWait` refuses every sendMessage until retry_after has passed.
 */
import { expect } from 'chai';
import { TelegramEmulator } from '../../../harness/telegram-emulator';
import { startBotRig, type BotRig } from '../../support/bot-rig';

const ALLOWED = '111';
const RETRY_AFTER_SEC = 20;

describe('a reply during a 429 flood wait — review 32 repro', function () {
  this.timeout(90_000);
  let emu: TelegramEmulator;
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'flood-wait',
      telegram: { allowedChatIds: [ALLOWED], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
    });
    ({ emu } = rig);
  });

  after(() => rig?.close());

  it('the reply is sent once the flood wait is over, and Telegram is not asked again before it', async () => {
    emu.setFault('429', { retryAfterSec: RETRY_AFTER_SEC, floodWait: true, methods: ['sendMessage'] });
    await emu.sendCommand(ALLOWED, '/help');
    const reply = await emu
      .waitForMessage(() => true, { chatId: ALLOWED, timeoutMs: 70_000 })
      .catch(() => undefined);
    const sends = emu.requests.filter((r) => r.method === 'sendMessage');
    const refused = sends.filter((r) => r.status === 429);
    const story = sends
      .map((r) => `${r.status} at +${((r.at - sends[0]!.at) / 1000).toFixed(1)} s`)
      .join(', ');
    expect(reply, `the reply arrives after the wait (sendMessage: ${story})`).to.not.equal(undefined);
    expect(
      refused,
      `no sendMessage before retry_after (${RETRY_AFTER_SEC} s) passed: ${story}`,
    ).to.have.length(1);
  });
});
