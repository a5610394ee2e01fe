/**
 * Masks secret values wherever they appear: messages, meta fields, error messages and stacks, URLs
 * (a bot token sits in every Telegram API URL). Known secret keys are masked whatever their value.
 */
const MASK = '[REDACTED]';
const SECRET_KEY = /(token|secret|password|passphrase|apikey|api_key|authorization|signature)/i;
/** Telegram bot tokens look like `123456:AA…`; masked even when not registered (e.g. in a stray URL). */
const BOT_TOKEN = /\b\d{6,12}:[A-Za-z0-9_-]{30,}\b/g;

export class Redactor {
  private readonly values: string[];

  constructor(secretValues: Array<string | undefined>) {
    // Longest first so a secret containing another is masked whole; very short values would mask noise.
    this.values = [...new Set(secretValues.filter((v): v is string => typeof v === 'string' && v.length >= 4))].sort(
      (a, b) => b.length - a.length,
    );
  }

  redactString(text: string): string {
    let out = text;
    for (const v of this.values) out = out.split(v).join(MASK);
    return out.replace(BOT_TOKEN, MASK);
  }

  redactValue(value: unknown, depth = 0): unknown {
    if (depth > 6) return value;
    if (typeof value === 'string') return this.redactString(value);
    if (value instanceof Error) {
      const copy = new Error(this.redactString(value.message));
      copy.name = value.name;
      copy.stack = value.stack ? this.redactString(value.stack) : undefined;
      return copy;
    }
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v, depth + 1));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        out[k] = SECRET_KEY.test(k) && typeof v === 'string' ? MASK : this.redactValue(v, depth + 1);
      }
      return out;
    }
    return value;
  }

  /** Redacts a winston info object in place (winston keeps symbol keys on it that must survive). */
  redactInfo<T extends Record<string | symbol, unknown>>(info: T): T {
    for (const key of Object.keys(info)) {
      const v = info[key];
      (info as Record<string, unknown>)[key] =
        SECRET_KEY.test(key) && typeof v === 'string' ? MASK : this.redactValue(v);
    }
    return info;
  }
}

export const REDACTED = MASK;
