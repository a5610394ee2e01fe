/**
 * What the generated launcher dist/daemons/<name>.js calls: runs the daemon bundle with its V8 code cache
 * (src/shared/lifecycle/code-cache.ts, shared with the ccxt bundles trading loads).
 */
import {
  requireWithCodeCache,
  type CodeCacheOptions,
  type CodeCacheResult,
} from '../../src/shared/lifecycle/code-cache';

export type { CodeCacheOptions, CodeCacheResult };

export function runWithCodeCache(bundleFile: string, opts: CodeCacheOptions = {}): CodeCacheResult {
  const { cacheFile, cache } = requireWithCodeCache(bundleFile, opts);
  return { cacheFile, cache };
}
