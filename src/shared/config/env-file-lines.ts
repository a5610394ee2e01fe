/**
 * What dotenv does to a `.env` line that the operator may not expect: an unquoted value ends at the first `#`
 * (dotenv reads the rest as a comment, with or without a space before it), so `EXCHANGE_PASSWORD=Tr4de#Bot` is read
 * as `Tr4de`. The line the operator reads back is right and the exchange refuses every signed request (OKX 50105),
 * so for a secret — whose value may be any text and is never shown — such a line is refused at start, naming the
 * variable and the quoting fix. Pure: the file's text in, the names of the cut lines out (values never leave).
 */

/** dotenv's own line grammar (dotenv 16–18 LINE): `[export] NAME=value` or `NAME: value`. */
const LINE = /^\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(.*)$/;

export interface CutLine {
  /** The variable, as written in the file. */
  name: string;
  /** 1-based line number in the file. */
  line: number;
}

/**
 * The lines among `names` whose value is unquoted and holds a `#`: dotenv keeps only what comes before it. A value
 * that opens with a quote (', " or `) keeps its `#` and is not reported, nor is a blank value followed by a comment
 * (`NAME=   # fill in`: unset, as the operator meant); a `#` right after the `=` is (`NAME=#x` reads as unset).
 */
export function unquotedHashLines(text: string, names: ReadonlySet<string>): CutLine[] {
  const cut: CutLine[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (const [index, raw] of lines.entries()) {
    const m = LINE.exec(raw);
    if (!m || !names.has(m[1])) continue;
    const value = m[2].trimStart();
    if (/^['"`]/.test(value)) continue;
    const hash = value.indexOf('#');
    if (hash < 0) continue;
    const commentOnly = hash === 0 && /^\s/.test(m[2]);
    if (!commentOnly) cut.push({ name: m[1], line: index + 1 });
  }
  return cut;
}
