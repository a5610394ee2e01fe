/** Package versions: ByNinja's own and an installed dependency's, each read from its package.json. */
import fs from 'node:fs';
import path from 'node:path';

/** The version in one package.json (of the package `name` when given), undefined when it cannot be read. */
export function readPackageVersion(file: string, name?: string): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
    if (name !== undefined && pkg.name !== name) return undefined;
    return typeof pkg.version === 'string' && pkg.version ? pkg.version : undefined;
  } catch {
    return undefined; // no or unreadable package.json
  }
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
