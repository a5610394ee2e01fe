/**
 * The module scripts/zod-prebuild.ts writes for the daemon bundles, generated and evaluated here as esbuild would
 * bundle it (its ES module syntax turned into CommonJS, `zod/v4/core` the zod the tests run): its PREBUILT_PARSERS.
 */
import Module from 'node:module';
import { transformSync } from 'esbuild';
import type * as z from 'zod';
import type { PrebuiltParserFactory } from '../../src/shared/config/zod-prebuilt';
import { prebuiltParsersModule } from '../../scripts/zod-prebuild';

export function loadPrebuiltParsers(
  schemas: Record<string, z.ZodType>,
): Record<string, PrebuiltParserFactory> {
  const { code } = transformSync(prebuiltParsersModule(schemas), { format: 'cjs', loader: 'js' });
  const mod = { exports: {} as { PREBUILT_PARSERS: Record<string, PrebuiltParserFactory> } };
  // strict, as in the bundles (esbuild's output is a strict module there): a sloppy run would let an assignment to an
  // undeclared name pass as a global
  const run = new Function('require', 'module', 'exports', `'use strict';\n${code}`) as (
    req: NodeJS.Require,
    m: typeof mod,
    e: typeof mod.exports,
  ) => void;
  run(Module.createRequire(__filename), mod, mod.exports);
  return mod.exports.PREBUILT_PARSERS;
}
