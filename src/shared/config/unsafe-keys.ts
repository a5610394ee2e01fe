/**
 * Keys that reach an object's prototype machinery when assigned (`__proto__`, `constructor`, `prototype`). A
 * config value holding one (a JSON file, or a `BYNINJA__…` variable with a JSON value or such a name segment) is
 * refused with a problem naming the key and where it came from, and removed before anything merges it.
 */
import type { ConfigProblem } from '../errors';

export const UNSAFE_CONFIG_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function isUnsafeConfigKey(key: string): boolean {
  return UNSAFE_CONFIG_KEYS.has(key);
}

/** The problem reported for an unsafe key at `dotted`, set by `where` ("file …", "env NAME"). */
export function unsafeKeyProblem(dotted: string, key: string, where: string): ConfigProblem {
  return {
    field: `${dotted} (${where})`,
    value: JSON.stringify(key),
    message: `"${key}" is not allowed as a config key (it could change object prototypes): remove it from ${where.replace(/^file /, '').replace(/^env /, 'variable ')}`,
  };
}

/**
 * Removes every unsafe key from `node` (recursively, own properties only) and returns one problem per key.
 * `whereOf(dotted)` names the source of a path.
 */
export function removeUnsafeKeys(
  node: Record<string, unknown>,
  whereOf: (dotted: string) => string,
  at: string[] = [],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(node)) {
    const here = [...at, key];
    const dotted = here.join('.');
    if (isUnsafeConfigKey(key)) {
      problems.push(unsafeKeyProblem(dotted, key, whereOf(dotted)));
      delete node[key];
      continue;
    }
    const value = node[key];
    if (value && typeof value === 'object') {
      if (Array.isArray(value)) {
        value.forEach((item, i) => {
          if (item && typeof item === 'object' && !Array.isArray(item))
            problems.push(
              ...removeUnsafeKeys(item as Record<string, unknown>, whereOf, [...here, String(i)]),
            );
        });
      } else problems.push(...removeUnsafeKeys(value as Record<string, unknown>, whereOf, here));
    }
  }
  return problems;
}
