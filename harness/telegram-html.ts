/**
 * What the Bot API does with a sendMessage text in parse_mode HTML (review 44g; the emulator applies it to every text
 * message it is sent, harness/telegram-emulator.ts): the checks of tdlib's
 * parse_html (td/telegram/MessageEntity.cpp) that a bot's text can fail, with the Bot API's words —
 *  - a `<` starts a tag, which must be a supported one ("Unsupported start tag"), closed in order ("Unmatched end
 *    tag", "Can't find end tag corresponding to start tag"); a `&` not starting a known entity is a plain `&`;
 *  - the text must be UTF-8 (a lone UTF-16 surrogate cannot be: "text must be encoded in UTF-8" / "Text contains
 *    invalid Unicode characters");
 *  - "1-4096 characters after entities parsing" (sendMessage, core.telegram.org/bots/api#sendmessage): "message is
 *    too long", "message text is empty".
 * Returns the parsed text; throws an Error with Telegram's description.
 */
const SUPPORTED = new Set([
  'a',
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'code',
  'pre',
  'blockquote',
  'tg-emoji',
]);

export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function parseTelegramHtml(html: string, maxLength = 4096): string {
  const open: string[] = [];
  let text = '';
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === '&') {
      const entity = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/i.exec(html.slice(i, i + 12));
      text += entity ? 'x' : '&';
      i += entity ? entity[0].length : 1;
      continue;
    }
    if (c !== '<') {
      text += c;
      i++;
      continue;
    }
    if (html[i + 1] === '/') {
      const end = html.indexOf('>', i);
      if (end === -1)
        throw new Error(`Bad Request: can't parse entities: Unclosed end tag at byte offset ${i}`);
      const name = html
        .slice(i + 2, end)
        .trim()
        .toLowerCase();
      const top = open.pop();
      if (top === undefined)
        throw new Error(`Bad Request: can't parse entities: Unexpected end tag at byte offset ${i}`);
      if (top !== name)
        throw new Error(
          `Bad Request: can't parse entities: Unmatched end tag at byte offset ${i}, expected "</${top}>", found "</${name}>"`,
        );
      i = end + 1;
      continue;
    }
    let j = i + 1;
    while (j < html.length && !/\s/.test(html[j]!) && html[j] !== '>') j++;
    const name = html.slice(i + 1, j).toLowerCase();
    const end = html.indexOf('>', j);
    if (end === -1)
      throw new Error(`Bad Request: can't parse entities: Unclosed start tag at byte offset ${i}`);
    if (!SUPPORTED.has(name))
      throw new Error(
        `Bad Request: can't parse entities: Unsupported start tag "${name}" at byte offset ${i}`,
      );
    open.push(name);
    i = end + 1;
  }
  if (open.length)
    throw new Error(
      `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${open[open.length - 1]}"`,
    );
  if (LONE_SURROGATE.test(text)) throw new Error('Bad Request: text must be encoded in UTF-8');
  if (text.length > maxLength) throw new Error('Bad Request: message is too long');
  if (text.trim() === '') throw new Error('Bad Request: message text is empty');
  return text;
}

/** A plain text's checks (no parse_mode): UTF-8, 1-4096 characters. Throws an Error with Telegram's description. */
export function checkTelegramText(text: string, maxLength = 4096): void {
  if (LONE_SURROGATE.test(text)) throw new Error('Bad Request: text must be encoded in UTF-8');
  if (text.length > maxLength) throw new Error('Bad Request: message is too long');
  if (text.trim() === '') throw new Error('Bad Request: message text is empty');
}
