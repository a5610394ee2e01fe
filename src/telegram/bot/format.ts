/**
 * Pure formatting for Telegram replies: HTML escaping and the renderers (shared with the CLI, see ops/render.ts),
 * and `splitMessage`, which cuts long HTML under Telegram's 4096-character limit on line boundaries without
 * breaking a tag or an entity: a `<pre>` cut in two is closed at the end of one part and reopened in the next.
 */
export {
  escapeHtml,
  htmlMarkup,
  formatStatus,
  formatPositions,
  formatOrders,
  formatBalance,
  formatLogTail,
  formatRestartOutcomes,
  formatCloseAll,
  formatReport,
} from '../../ops/render';

/** Telegram's limit on a message's text. */
export const TELEGRAM_MAX_MESSAGE = 4096;

const TAG = /<(\/?)(b|strong|i|em|u|s|code|pre|blockquote)>/g;

/** Tags still open at the end of `html`, outermost first. */
function openTags(html: string, stack: string[]): string[] {
  const open = [...stack];
  for (const match of html.matchAll(TAG)) {
    if (match[1] === '/') {
      const i = open.lastIndexOf(match[2]!);
      if (i !== -1) open.splice(i, 1);
    } else {
      open.push(match[2]!);
    }
  }
  return open;
}

const closers = (tags: string[]): string =>
  [...tags]
    .reverse()
    .map((t) => `</${t}>`)
    .join('');
const openers = (tags: string[]): string => tags.map((t) => `<${t}>`).join('');

/** Cuts one over-long line into pieces of at most `max`, never inside a `<tag>` or an `&entity;`. */
function hardSplit(line: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > max) {
    let cut = max;
    const lastLt = rest.lastIndexOf('<', cut - 1);
    if (lastLt !== -1 && rest.indexOf('>', lastLt) >= cut) cut = lastLt;
    const lastAmp = rest.lastIndexOf('&', cut - 1);
    if (lastAmp !== -1 && /^&[a-z#0-9]+;/i.test(rest.slice(lastAmp)) && rest.indexOf(';', lastAmp) >= cut)
      cut = lastAmp;
    if (cut <= 0) cut = max;
    // never half an emoji (a lone surrogate is not UTF-8: Telegram refuses the text; review 44g)
    if (cut > 1 && /[\ud800-\udbff]/.test(rest[cut - 1]!)) cut -= 1;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Splits `html` into messages of at most `max` characters (default 4096), preferring line boundaries.
 * Formatting tags open at a cut are closed and reopened, so each part is valid HTML on its own.
 */
export function splitMessage(html: string, max = TELEGRAM_MAX_MESSAGE): string[] {
  if (html.length <= max) return [html];
  // Room for the closing/reopening tags a cut may need (nesting here is at most a few tags deep).
  const reserve = 64;
  const budget = max - reserve;
  if (budget < 16) throw new RangeError('max too small for splitting');
  const parts: string[] = [];
  let stack: string[] = [];
  let current = '';
  const flush = (): void => {
    if (current === '' || current === openers(stack)) return;
    const open = openTags(current, []);
    parts.push(current + closers(open));
    stack = open;
    current = openers(stack);
  };
  const lines = html.split('\n');
  lines.forEach((line, index) => {
    const piece = index < lines.length - 1 ? `${line}\n` : line;
    for (const chunk of piece.length > budget
      ? hardSplit(piece, budget - openers(stack).length - 1)
      : [piece]) {
      if (current.length + chunk.length > budget) flush();
      current += chunk;
    }
  });
  if (current !== '' && current !== openers(stack)) parts.push(current + closers(openTags(current, [])));
  return parts.map((p) => p.replace(/\n+((?:<\/[a-z]+>)*)$/, '$1')).filter((p) => p.length > 0);
}
