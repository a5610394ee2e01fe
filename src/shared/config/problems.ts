/**
 * Turns schema issues into readable `ConfigProblem`s: the dotted field and where it came from (env variable or
 * file), the bad value (masked when it looks secret, shortened when long) and what to do about it — including a
 * "did you mean" for typos in keys.
 */
import type { core } from 'zod';
import type { ConfigProblem } from '../errors';
import { configSchema } from './schema';

interface SourcesLike {
  configFile?: string;
  fields: Record<string, string>;
}

const SECRET_LOOKING = /(api_?key|secret|password|passphrase|token|private_?key)/i;
const MAX_VALUE_CHARS = 80;

export function describeIssues(
  issues: readonly core.$ZodIssue[],
  merged: Record<string, unknown>,
  sources: SourcesLike,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const at = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = [...at, key];
        const known = knownKeys(at);
        const guess = closestKey(key, known);
        problems.push({
          field: fieldLabel(keyPath, sources),
          value: showValue(keyPath, valueAt(merged, keyPath)),
          message:
            `unknown setting${guess ? ` (did you mean "${[...at, guess].join('.')}"?)` : ''} — ` +
            `${fixHint(keyPath, sources, 'remove')}${known.length && !guess ? `; known here: ${known.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    problems.push({
      field: fieldLabel(at, sources),
      value: showValue(at, valueAt(merged, at)),
      message: `${issue.message} — ${fixHint(at, sources, 'fix')}`,
    });
  }
  return problems;
}

function fieldLabel(keyPath: string[], sources: SourcesLike): string {
  const dotted = keyPath.join('.') || '(top level)';
  const origin = originOf(keyPath, sources);
  return origin ? `${dotted} (${origin})` : dotted;
}

/** Where a field (or the list/object holding it, or for a whole-object issue any field under it) was set. */
function originOf(keyPath: string[], sources: SourcesLike): string | undefined {
  const dotted = keyPath.join('.');
  for (let n = keyPath.length; n > 0; n--) {
    const holder = sources.fields[keyPath.slice(0, n).join('.')];
    if (holder) return holder;
  }
  const under = Object.entries(sources.fields).filter(([f]) => f.startsWith(`${dotted}.`));
  return under.length ? [...new Set(under.map(([, o]) => o))].join(', ') : undefined;
}

function fixHint(keyPath: string[], sources: SourcesLike, action: 'fix' | 'remove'): string {
  const origin = originOf(keyPath, sources);
  if (!origin) return `${action} it (config.example.json documents every field)`;
  if (origin.startsWith('env ')) return `${action} variable ${origin.slice(4).split(',')[0]}`;
  return `${action} "${keyPath.join('.')}" ${action === 'fix' ? 'in' : 'from'} ${sources.configFile ?? 'the config file'}`;
}

function showValue(keyPath: string[], value: unknown): string {
  if (keyPath.some((k) => SECRET_LOOKING.test(k))) return '[REDACTED]';
  if (value === undefined) return '(unset)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function valueAt(root: unknown, keyPath: string[]): unknown {
  let node = root;
  for (const key of keyPath) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Keys the schema accepts at an object path (unwrapping defaults/optionals). */
function knownKeys(keyPath: string[]): string[] {
  let schema: unknown = configSchema();
  for (const key of [...keyPath, '']) {
    schema = unwrap(schema);
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    if (!shape) return [];
    if (key === '') return Object.keys(shape);
    schema = shape[key];
  }
  return [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { _zod?: { def: { innerType?: unknown } } } | undefined;
  while (s?._zod?.def.innerType) s = s._zod.def.innerType as typeof s;
  return s;
}

/** The known key nearest to a typo (edit distance ≤ 1/3 of its length), if any. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps ("prot"→"port") cost 1. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
