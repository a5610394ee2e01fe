/**
 * Turns environment variables into a partial config object: the named variables of ARCHITECTURE.md
 * (BYNINJA_DATA_DIR, TELEGRAM_CHAT_ID, …) and the generic `BYNINJA__SECTION__KEY[__SUBKEY]` overlay
 * (`BYNINJA__TRADING__RISK__STAKE_PER_TRADE=50` → trading.risk.stakePerTrade = 50). Every value set remembers
 * the variable it came from, so an error can name it.
 */
import type { ConfigProblem } from '../errors';
import { isUnsafeConfigKey, removeUnsafeKeys, unsafeKeyProblem } from './unsafe-keys';

export type Env = Record<string, string | undefined>;

export interface EnvOverlay {
  /** Nested partial config built from the environment. */
  values: Record<string, unknown>;
  /** Dotted field path → environment variable that set it. */
  fields: Record<string, string>;
  /** Dotted field path → the raw text of the variable (used when a string field got a JSON-looking value). */
  raw: Record<string, string>;
  problems: ConfigProblem[];
}

type Parse = (text: string) => unknown;

const asString: Parse = (t) => t;
const asNumber: Parse = (t) => (/^\s*-?\d+(\.\d+)?\s*$/.test(t) ? Number(t) : t);
const asList: Parse = (t) =>
  t
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** The named variables. An empty value counts as unset (as `KEY=` lines in a .env file mean). */
export const NAMED_ENV: ReadonlyArray<{ env: string; path: string; parse: Parse }> = [
  { env: 'BYNINJA_DATA_DIR', path: 'app.dataDir', parse: asString },
  { env: 'BYNINJA_LOG_DIR', path: 'app.logDir', parse: asString },
  { env: 'BYNINJA_LOG_LEVEL', path: 'logging.level', parse: asString },
  { env: 'BYNINJA_IPC_PORT', path: 'ipc.port', parse: asNumber },
  { env: 'BYNINJA_MODE', path: 'trading.mode', parse: asString },
  { env: 'TELEGRAM_CHAT_ID', path: 'telegram.chatId', parse: asString },
  { env: 'TELEGRAM_ALLOWED_CHAT_IDS', path: 'telegram.allowedChatIds', parse: asList },
  { env: 'TELEGRAM_ALLOWED_USER_IDS', path: 'telegram.allowedUserIds', parse: asList },
  { env: 'TELEGRAM_API_ROOT', path: 'telegram.apiRoot', parse: asString },
];

export const GENERIC_PREFIX = 'BYNINJA__';

/** `STAKE_PER_TRADE` → `stakePerTrade`. */
export function snakeToCamel(segment: string): string {
  return segment.toLowerCase().replace(/_+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** JSON when it parses (numbers, booleans, arrays, objects), else the text itself. */
function parseGeneric(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Sets `dotted` in `target`, creating null-prototype objects on the way; unsafe keys are never followed. */
export function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  if (keys.some(isUnsafeConfigKey)) return;
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
    if (!next || typeof next !== 'object' || Array.isArray(next)) node[key] = Object.create(null);
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

export function envOverlay(env: Env): EnvOverlay {
  const overlay: EnvOverlay = {
    values: Object.create(null) as Record<string, unknown>,
    fields: Object.create(null) as Record<string, string>,
    raw: Object.create(null) as Record<string, string>,
    problems: [],
  };
  // Generic first, named last: the documented names win when both are given.
  for (const name of Object.keys(env).sort()) {
    const text = env[name];
    if (!name.startsWith(GENERIC_PREFIX) || text === undefined || text === '') continue;
    const segments = name.slice(GENERIC_PREFIX.length).split('__');
    if (segments.some((s) => !/^[A-Za-z0-9_]+$/.test(s) || /^_|_$/.test(s))) {
      overlay.problems.push({
        field: name,
        value: JSON.stringify(text),
        message: `malformed variable name: use ${GENERIC_PREFIX}SECTION__KEY[__SUBKEY], e.g. BYNINJA__TRADING__TICK_INTERVAL_MS`,
      });
      continue;
    }
    const keys = segments.map(snakeToCamel);
    const dotted = keys.join('.');
    const unsafe = keys.find(isUnsafeConfigKey);
    if (unsafe !== undefined) {
      overlay.problems.push(unsafeKeyProblem(dotted, unsafe, `env ${name}`));
      continue;
    }
    const value = parseGeneric(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const unsafeInside = removeUnsafeKeys(value as Record<string, unknown>, () => `env ${name}`, keys);
      if (unsafeInside.length > 0) {
        overlay.problems.push(...unsafeInside);
        continue;
      }
    }
    setPath(overlay.values, dotted, value);
    overlay.fields[dotted] = name;
    overlay.raw[dotted] = text;
  }
  for (const { env: name, path, parse } of NAMED_ENV) {
    const text = env[name];
    if (text === undefined || text.trim() === '') continue;
    setPath(overlay.values, path, parse(text));
    overlay.fields[path] = name;
    overlay.raw[path] = text;
  }
  return overlay;
}
