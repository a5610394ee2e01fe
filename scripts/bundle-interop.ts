/**
 * A cheaper `__toESM`, esbuild's helper for a default or namespace import of a CommonJS module (`import fs from
 * 'node:fs'`: every node built-in our code imports that way). esbuild's copies the module: a getter defined for each
 * of its own properties, on a fresh object per importing file — 47 times in the trading bundle (node:fs's ~100
 * properties 13 times, node:path's 21 times…), ~1 MiB of getters and closures at every start, all of it live through
 * the young generation's scavenges. This one answers the same reads from a single object whose prototype is the
 * module itself: `ns.x` finds the module's own `x` (live, as the getter was), `ns.default` is the module unless it
 * was transpiled ESM (`__esModule`), as esbuild decides. What differs — the namespace's own keys (nothing spreads or
 * enumerates one: esbuild reads `ns.default.x` or `ns.x`) and the receiver a module's accessor sees — no import
 * here relies on. Measured on direct starts: ~7 ms less CPU of all threads, ~3 ms of the main thread
 * (docs/benchmarks.md, restart).
 *
 * The replacement has exactly the length of esbuild's helper (padded with spaces), so the bundle's source map stays
 * exact; a build whose esbuild emits another helper fails here instead of shipping a bundle this was not checked on.
 */

/** esbuild's helper, as it writes it with whitespace minified (esbuild 0.2x). */
export const ESBUILD_TO_ESM =
  'var __toESM=(mod,isNodeMode,target)=>(target=mod!=null?__create(__getProtoOf(mod)):{},__copyProps(' +
  'isNodeMode||!mod||!mod.__esModule?__defProp(target,"default",{value:mod,enumerable:!0}):target,mod))';

/** The same reads, no copy (see above). */
export const PROTOTYPE_TO_ESM =
  'var __toESM=(mod,isNodeMode)=>mod==null?{default:mod}:isNodeMode||!mod.__esModule?' +
  '__create(mod,{default:{value:mod,enumerable:!0}}):__create(mod)';

/** `code` with esbuild's `__toESM` replaced by PROTOTYPE_TO_ESM (same length); throws when it is not found once. */
export function usePrototypeToEsm(code: string, file: string): string {
  const at = code.indexOf(ESBUILD_TO_ESM);
  if (at === -1 || code.indexOf(ESBUILD_TO_ESM, at + 1) !== -1) {
    throw new Error(
      `${file}: esbuild's __toESM helper not found exactly once (esbuild upgraded?): check scripts/bundle-interop.ts against it`,
    );
  }
  const replacement = PROTOTYPE_TO_ESM.padEnd(ESBUILD_TO_ESM.length, ' ');
  return code.slice(0, at) + replacement + code.slice(at + ESBUILD_TO_ESM.length);
}
