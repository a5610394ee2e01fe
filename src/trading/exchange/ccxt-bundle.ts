/**
 * Where the build put a verified exchange's ccxt bundle (scripts/bundle.ts: `ccxt-<id>.js`, its class and ccxt's
 * error classes in one CommonJS file, next to the daemon bundles). Found beside the running code: the daemon
 * bundle (dist/daemons) or the test daemon's (dist/test-daemons, whose sibling is dist/daemons). Code run
 * unbundled (tsc's output, the tests) finds none and loads ccxt's ES module from node_modules instead.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const CCXT_BUNDLE_PREFIX = 'ccxt-';

export function ccxtBundleFile(exchangeId: string, besides: string = __dirname): string | undefined {
  const name = `${CCXT_BUNDLE_PREFIX}${exchangeId}.js`;
  return [path.join(besides, name), path.join(besides, '..', 'daemons', name)].find((file) =>
    existsSync(file),
  );
}
