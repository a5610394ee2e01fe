/**
 * Review 44g: where the emulator (harness/telegram-emulator.ts over telegram-test-api) is more lenient than the Bot API
 * in ways that hide the defects of this review. The Bot API's sendMessage takes "1-4096 characters after entities
 * parsing" (core.telegram.org/bots/api#sendmessage) and, with parse_mode HTML, only the documented tags, closed in
 * order ("can't parse entities"); the emulator stores any text of any length (telegram-test-api's sendMessage route
 * checks neither), so every emulator test passes whatever HTML, length or encoding the bot sends.
 */
import { expect } from 'chai';
import { Telegram } from 'telegraf';
import { TelegramEmulator } from '../../harness/telegram-emulator';

describe('Review 44g: the emulator refuses what the Bot API refuses', function () {
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
