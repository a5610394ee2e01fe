/**
 * The emulator (harness/telegram-emulator.ts over telegram-test-api) refuses the text the Bot API refuses (review 44g):
 * sendMessage takes "1-4096 characters after entities parsing" (core.telegram.org/bots/api#sendmessage) and, with
 * parse_mode HTML, only the documented tags, closed in order ("can't parse entities"); harness/telegram-html.ts.
 * telegram-test-api stores any text of any length, so every emulator test passed whatever HTML, length or encoding
 * the bot sent.
 */
import { expect } from 'chai';
import { Telegram } from 'telegraf';
import { TelegramEmulator } from '../../harness/telegram-emulator';

describe('the emulator refuses the text the Bot API refuses (review 44g)', function () {
  this.timeout(20_000);
  let emu: TelegramEmulator | undefined;
  afterEach(async () => emu?.stop());

  for (const [what, text] of [
    ['an unclosed <pre> ("can\'t parse entities")', '<pre>GET /order?signature=[REDACTED]'],
    ['an unsupported tag ("Unsupported start tag")', 'price <0.5 USDT'],
    ['5,000 characters ("message is too long")', 'x'.repeat(5_000)],
  ] as const) {
    it(`sendMessage with ${what} in parse_mode HTML is answered 400`, async () => {
      emu = await TelegramEmulator.start();
      const telegram = new Telegram(emu.token, { apiRoot: emu.apiRoot });
      const answer = await telegram.sendMessage('42', text, { parse_mode: 'HTML' }).then(
        () => 'accepted',
        (err: { response?: { error_code?: number } }) => err.response?.error_code,
      );
      expect(answer).to.equal(400);
    });
  }
});
