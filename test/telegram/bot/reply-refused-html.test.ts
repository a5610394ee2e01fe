/**
 * A reply whose HTML Telegram refuses (400 "can't parse entities": here a secret value the reply's one redactor masks
 * happens to be a closing tag of the reply, so the masking breaks its markup) goes again as plain text, the same
 * words (bot.ts send, notify/message-refusal.ts; review 44g). Before, the reply failed as a whole ("❌ Command
 * failed"): the redaction of a /logs reply whose last line ended in a secret shape did so (telegram-html-refusals.test).
 *
 * Real telegraf against the emulator, which refuses the HTML the Bot API refuses (harness/telegram-html.ts).
 */
import { expect } from 'chai';
import { Redactor } from '../../../src/shared/logging/redact';
import { startBotRig, type BotRig } from '../../support/bot-rig';

const ALLOWED = '111';

describe('a reply Telegram refuses as HTML (real telegraf, emulator)', function () {
  this.timeout(30_000);
  let rig: BotRig | undefined;
  afterEach(() => rig?.close());

  it('is sent again as plain text, the same words', async () => {
    rig = await startBotRig({
      name: 'reply-refused-html',
      telegram: { allowedChatIds: [ALLOWED], pollingTimeoutSec: 1 },
      // a "secret" that is also the reply's closing tag: masking it leaves an unclosed <b>
      deps: ({ emu }) => ({ redactor: new Redactor([emu.token, '</b>']) }),
    });
    const { emu } = rig;
    await emu.sendCommand(ALLOWED, '/help');
    const reply = await emu.waitForMessage(() => true, { chatId: ALLOWED, timeoutMs: 10_000 });
    const refused = emu.requests.filter((r) => r.method === 'sendMessage' && r.status === 400);
    expect(refused, 'the HTML reply was refused once').to.have.length(1);
    expect(reply.parseMode).to.equal(undefined);
    expect(reply.text).to.include('ByNinja commands').and.include('/status').and.not.include('<b>');
  });
});
