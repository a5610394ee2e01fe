/**
 * Masks secrets wherever they appear before anything is written: messages, meta fields (any depth), error
 * messages, stacks and causes, and URLs (a Telegram bot token sits in every Bot API URL; API keys and signatures
 * travel as query parameters). Three layers, because a secret can reach a log line without our knowing it:
 *  1. registered values (the `Secrets` of the service, the IPC token…) are masked as plain substrings;
 *  2. keys that name a secret (`token`, `apiKey`, `password`…) have their string value masked whatever it is;
 *  3. shapes that are secrets anyway: bot tokens, `/bot<token>/` URL paths, `?apikey=`/`&signature=` query
 *     values, `user:password@` URL credentials, `Authorization: Bearer …` headers.
 */
const MASK = '[REDACTED]';
const SECRET_KEY = /(token|secret|password|passphrase|api_?key|authorization|signature|private_?key|cookie)/i;
/** Telegram bot tokens look like `123456789:AA…` (35 chars after the colon). */
const BOT_TOKEN = /\b\d{6,12}:[A-Za-z0-9_-]{30,}\b/g;
/**
 * A tag of Telegram's HTML (the markup of the replies and alerts the redactor masks): `<pre>`, `</code>`,
 * `<a href="…">` — a regular expression's source (telegram/notify/log-sender.ts htmlToPlain reads the tags out of our HTML too).
 */
export const TELEGRAM_TAG =
  '<\\/?(?:b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|code|pre|blockquote|a|tg-emoji)(?:\\s[^<>]*)?>';
/**
 * A character of a secret's value where each shape below reads one: any but `stop`, and never the start of a tag of
 * Telegram's HTML: masking a value right before a reply's `</pre>` took the tag with it and Telegram refused the
 * reply (review 44g); a `<` or `>` inside the value itself is masked with it (review 44h).
 */
const valueChar = (stop: string): string => `(?:(?!${TELEGRAM_TAG})[^${stop}])`;
/** Bot API URLs: `https://host/bot<id>:<secret>/method` and `/file/bot…/`, however short the secret part. */
const BOT_URL_PATH = new RegExp(
  `(https?:\\/\\/${valueChar('\\s"\'')}*?\\/(?:file\\/)?bot)(${valueChar('/\\s?#"\'')}*:${valueChar('/\\s?#"\'')}*)`,
  'gi',
);
const URL_QUERY_SECRET = new RegExp(
  `([?&;](?:[a-z_-]*(?:token|secret|password|passphrase|api_?key|signature|key|sig))=)(${valueChar('&\\s#"\'')}+)`,
  'gi',
);
const URL_USERINFO = new RegExp(
  `(\\b[a-z][a-z0-9+.-]*:\\/\\/${valueChar('\\s/:@"\'')}+:)(${valueChar('\\s/@"\'')}+)(@)`,
  'gi',
);
/** "(unset)" is what a message says of a secret that is not set: no secret there to mask ("API_KEY = (unset)"). */
const AUTH_HEADER = new RegExp(
  `((?:authorization|x-mbx-apikey|api[-_]?key|x-api-key)["']?\\s*[:=]\\s*["']?(?:bearer |basic )?)(?!\\(unset\\))(${valueChar('\\s"\',;&')}+)`,
  'gi',
);
/** Objects nested deeper than this are cut (never written unredacted). */
const MAX_DEPTH = 8;
/**
 * Keys whose secret-name verdict is remembered: the same few field names come back in every event and log line,
 * so the key regex runs once per name instead of once per field. Bounded in count and in key length (a long key
 * is data, an id or an asset code list, not a field name); when full it starts again, so the names in use now
 * are the ones remembered, not the first 2,000 of the process's life.
 */
const KEY_VERDICTS_MAX = 2_000;
const KEY_VERDICT_MAX_LENGTH = 64;

export class Redactor {
  private values: string[] = [];
  private readonly keyVerdicts = new Map<string, boolean>();

  constructor(secretValues: Array<string | undefined> = []) {
    for (const v of secretValues) this.add(v);
  }

  /** Registers one more secret value (e.g. an IPC token read from its file after start). */
  add(value: string | undefined): void {
    // Very short values would mask noise ("abc" in every word); such secrets are rejected by config anyway.
    if (typeof value !== 'string' || value.length < 4 || this.values.includes(value)) return;
    // Longest first, so a secret containing another is masked whole.
    this.values = [...this.values, value].sort((a, b) => b.length - a.length);
  }

  redactString(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    // every shape below has a ':' or a '=' (token, URL, query, header): most strings have neither ("BTC/USDT",
    // an order id, a side), and the hot paths (each event, each log line) skip the five scans
    if (!out.includes(':') && !out.includes('=')) return out;
    return out
      .replace(BOT_TOKEN, MASK)
      .replace(BOT_URL_PATH, `$1${MASK}`)
      .replace(URL_QUERY_SECRET, `$1${MASK}`)
      .replace(URL_USERINFO, `$1${MASK}$3`)
      .replace(AUTH_HEADER, `$1${MASK}`);
  }

  /**
   * Any value with its secrets masked. Copy on write: a plain object or array with nothing to mask is returned as
   * it is (shared with the input, no allocation: the hot paths, each event and each IPC answer, rarely hold a
   * secret); any other object is copied (errors, maps and class instances become plain objects). A caller that
   * keeps the result while the input may still change serialises it at once (the event log does).
   */
  redactValue(value: unknown): unknown {
    return this.redactNode(value, 0, []);
  }

  /**
   * Redacts a log entry into a new object (the entry's fields may be the caller's own objects, never mutated here).
   * A field named like a secret has its string value masked whole.
   */
  redactEntry<T extends Record<string, unknown>>(entry: T): T {
    const out: Record<string, unknown> = {};
    const ancestors: object[] = [];
    for (const key of Object.keys(entry)) {
      const v = entry[key];
      out[key] =
        this.isSecretKey(key) && typeof v === 'string' && v.length > 0
          ? MASK
          : this.redactNode(v, 0, ancestors);
    }
    return out as T;
  }

  /**
   * `ancestors` is the path from the root to `value` (at most MAX_DEPTH + 1 objects, so a scan of it is cheaper
   * than a WeakSet per call): a value shared by two branches is not a cycle, one that is its own ancestor is.
   */
  private redactNode(value: unknown, depth: number, ancestors: object[]): unknown {
    if (typeof value === 'string') return this.redactString(value);
    if (!value || typeof value !== 'object') return value;
    if (depth > MAX_DEPTH) return '[too deep]';
    if (value instanceof Date) return value;
    if (value instanceof URL) return this.redactString(value.href);
    if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
    if (ancestors.includes(value)) return '[circular]';
    ancestors.push(value);
    try {
      if (value instanceof Error) return this.redactError(value, depth, ancestors);
      if (Array.isArray(value)) return this.redactArray(value, depth, ancestors);
      if (value instanceof Map) return this.redactObject(Object.fromEntries(value), depth, ancestors, true);
      if (value instanceof Set) return [...value].map((v) => this.redactNode(v, depth + 1, ancestors));
      const proto = Object.getPrototypeOf(value) as unknown;
      const plain = proto === Object.prototype || proto === null;
      return this.redactObject(value as Record<string, unknown>, depth, ancestors, plain);
    } finally {
      ancestors.pop();
    }
  }

  /** `value` itself when `share` and nothing in it changes, else a plain copy. */
  private redactObject(
    value: Record<string, unknown>,
    depth: number,
    ancestors: object[],
    share: boolean,
  ): Record<string, unknown> {
    const keys = Object.keys(value);
    let out: Record<string, unknown> | undefined = share ? undefined : {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v = value[k];
      // an own toJSON would answer for the object when it is serialised, past the redaction: the copy goes without
      // it (JSON writes no function anyway), as a class instance's copy goes without its prototype's
      if (k === 'toJSON' && typeof v === 'function') {
        if (out === undefined) {
          out = {};
          for (let j = 0; j < i; j++) out[keys[j]] = value[keys[j]];
        }
        continue;
      }
      const r =
        this.isSecretKey(k) && (typeof v === 'string' || typeof v === 'number')
          ? MASK
          : this.redactNode(v, depth + 1, ancestors);
      if (out === undefined) {
        if (r === v) continue;
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]] = value[keys[j]];
      }
      out[k] = r;
    }
    return out ?? value;
  }

  /** `value` itself when nothing in it changes, else a copy. */
  private redactArray(value: unknown[], depth: number, ancestors: object[]): unknown[] {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const r = this.redactNode(v, depth + 1, ancestors);
      if (out === undefined) {
        if (r === v) continue;
        out = value.slice(0, i);
      }
      out.push(r);
    }
    return out ?? value;
  }

  private isSecretKey(key: string): boolean {
    let secret = this.keyVerdicts.get(key);
    if (secret === undefined) {
      secret = SECRET_KEY.test(key);
      if (key.length <= KEY_VERDICT_MAX_LENGTH) {
        if (this.keyVerdicts.size >= KEY_VERDICTS_MAX) this.keyVerdicts.clear();
        this.keyVerdicts.set(key, secret);
      }
    }
    return secret;
  }

  private redactError(err: Error, depth: number, ancestors: object[]): Record<string, unknown> {
    const out: Record<string, unknown> = { name: err.name, message: this.redactString(err.message) };
    // own enumerable fields carry context (code, status, url, context of ByNinjaError…)
    const { cause: _c, stack: _s, message: _m, ...fields } = { ...err } as Record<string, unknown>;
    Object.assign(out, this.redactObject(fields, depth, ancestors, true));
    if (err.stack) out.stack = this.redactString(err.stack);
    if (err.cause !== undefined) out.cause = this.redactNode(err.cause, depth + 1, ancestors);
    return out;
  }
}

export const REDACTED = MASK;
