/**
 * Text ByNinja hands Telegram in parse_mode HTML that the Bot API refused (400; review 44g), checked against
 * harness/telegram-html.ts (tdlib's parse_html rules and the sendMessage limits, which the emulator now applies too:
 * it stored any text, so no emulator test could see these). Before the fixes:
 *
 * 1. Redaction after HTML: the bot redacts the finished HTML of a reply (bot.ts send: splitMessage(redactor
 *    .redactString(html))), and the Redactor's secret shapes (URL query `…signature=`, `Authorization:`/`X-MBX-APIKEY:`
 *    headers, `api_key=`) take everything up to whitespace or a quote as the secret — `<` and `>` included. A /logs
 *    whose last line ends with such a value (the log redactor already wrote `signature=[REDACTED]` there) loses its
 *    `</pre>`: Telegram answers "can't parse entities", and /logs fails as a whole ("❌ Command failed").
 * 2. Cuts by UTF-16 unit that split an emoji (a surrogate pair): outbox-queue.ts truncateHtml (an alert over 4,000
 *    characters), format.ts hardSplit (a reply line over ~4,000 characters: a long log line in /logs) and
 *    alert-policy.ts truncate (a crash reason over 300 characters) leave a lone surrogate, which is not UTF-8 —
 *    log-digest.ts `cut` says so itself ("a lone surrogate is not UTF-8: Telegram would refuse the text") and guards
 *    its own cut; its siblings do not.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tailServiceLogs } from '../../../src/ops/log-tail';
import { Redactor } from '../../../src/shared/logging/redact';
import { formatLogTail, htmlMarkup, splitMessage } from '../../../src/telegram/bot/format';
import { truncateHtml, MAX_MESSAGE_CHARS } from '../../../src/telegram/notify/outbox-queue';
import { plainTextOf } from '../../../src/telegram/notify/message-refusal';
import { describeLastRun } from '../../../src/telegram/supervisor/alert-policy';
import { checkTelegramText, LONE_SURROGATE, parseTelegramHtml } from '../../../harness/telegram-html';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0';

describe('HTML the Bot API refuses (review 44g)', () => {
  describe('redaction of a reply after it is HTML (bot.ts send)', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-review44g-logs-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const last of [
      'binance GET https://api.binance.com/api/v3/openOrders?timestamp=1765000000000&recvWindow=10000&signature=3f2a9c',
      'request headers X-MBX-APIKEY: vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A',
      'Authorization: Bearer abc.def.ghi',
    ]) {
      it(`/logs whose last line ends with a secret shape keeps its </pre>: ${last.slice(0, 40)}…`, async () => {
        fs.writeFileSync(path.join(dir, 'trading.out.log'), 'started\n');
        fs.writeFileSync(path.join(dir, 'trading.err.log'), `first error\n${last}\n`);
        const redactor = new Redactor([TOKEN]);
        const tail = await tailServiceLogs({ service: 'trading', lines: 20, logDir: dir, redactor });
        // what bot.ts send() hands to sendMessage
        const parts = splitMessage(redactor.redactString(formatLogTail(tail, htmlMarkup)));
        for (const part of parts) expect(() => parseTelegramHtml(part), part).not.to.throw();
      });
    }
  });

  describe('a cut never splits an emoji', () => {
    it('truncateHtml (an alert over 4,000 characters, outbox renderEntry)', () => {
      for (let at = MAX_MESSAGE_CHARS - 60; at < MAX_MESSAGE_CHARS - 20; at++) {
        const html = `🚨 <b>alert</b>\n${'x'.repeat(at)}📉 more ${'y'.repeat(300)}`;
        const cut = truncateHtml(html, MAX_MESSAGE_CHARS);
        expect(LONE_SURROGATE.test(cut), `emoji at ${at}`).to.equal(false);
        expect(() => parseTelegramHtml(cut)).not.to.throw();
      }
    });

    it('splitMessage (a reply line over one message: a long /logs line)', () => {
      for (let at = 3_900; at < 4_100; at++) {
        const html = `<pre>${'a'.repeat(at)}📣${'b'.repeat(5_000)}</pre>`;
        for (const part of splitMessage(html))
          expect(() => parseTelegramHtml(part), `emoji at ${at}`).not.to.throw();
      }
    });

    it('the plain text of an alert Telegram refused as HTML (outbox-queue plainTextOf)', () => {
      // a lone surrogate already in it (a cut elsewhere), an emoji at the 4,096 cut, entities read, tags out
      for (let at = 4_080; at < 4_100; at++) {
        const plain = plainTextOf(`<b>\ud83d x &lt;1 &amp; y</b>${'p'.repeat(at)}🚀${'q'.repeat(100)}`);
        expect(() => checkTelegramText(plain), `emoji at ${at}`).not.to.throw();
        expect(plain.startsWith('\ufffd x <1 & y'), plain.slice(0, 20)).to.equal(true);
      }
    });

    it('the crash alert cuts its reason at 300 characters (alert-policy describeLastRun)', () => {
      for (let at = 290; at < 302; at++) {
        const text = describeLastRun(
          { kind: 'crash', reason: `${'r'.repeat(at)}🔥 boom ${'z'.repeat(50)}` },
          1,
        );
        expect(LONE_SURROGATE.test(text), `emoji at ${at}`).to.equal(false);
      }
    });
  });

  describe('the plain text of a message Telegram refused as HTML keeps its words (review 44h)', () => {
    it('a stray < … > in the text (what Telegram refuses as HTML) keeps its words', () => {
      expect(plainTextOf('<b>SL</b> price < 5 and qty > 3 left')).to.equal('SL price < 5 and qty > 3 left');
    });

    it('an escaped entity is decoded once', () => {
      expect(plainTextOf('code &amp;#65;')).to.equal('code &#65;');
    });
  });
});
