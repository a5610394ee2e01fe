/** Package versions: ByNinja's own and an installed dependency's, each read from its package.json. */
import path from 'node:path';
import { readJsonFileSync } from '../shared/persistence/json-file';

/** The version in one package.json (of the package `name` when given), undefined when it cannot be read. */
export function readPackageVersion(file: string, name?: string): string | undefined {
  const read = readJsonFileSync(file, {
    parse: (value) => {
      if (typeof value !== 'object' || value === null) throw new Error('not a package.json object');
      return value as { name?: unknown; version?: unknown };
    },
  });
  // no package.json, or one that cannot be read or parsed: no version from it
  if (read.kind !== 'valid') return undefined;
  const pkg = read.value;
  if (name !== undefined && pkg.name !== name) return undefined;
  return typeof pkg.version === 'string' && pkg.version ? pkg.version : undefined;
}

let cached: string | undefined;

/** ByNinja's version, read from the nearest package.json named byninja above this file (src/, dist/src/ and the dist/daemons bundles). */
export function byninjaVersion(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const version = readPackageVersion(path.join(dir, 'package.json'), 'byninja');
    if (version) return (cached = version);
    if (path.dirname(dir) === dir) return (cached = 'unknown');
  }
}
