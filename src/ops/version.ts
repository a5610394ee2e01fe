/** ByNinja's version, read from the nearest package.json named byninja above this file (src/, dist/src/ and the dist/daemons bundles). */
import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

export function byninjaVersion(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'byninja' && pkg.version) return (cached = pkg.version);
    } catch {
      // no package.json here: keep walking up
    }
    if (path.dirname(dir) === dir) return (cached = 'unknown');
  }
}
