/**
 * Where the build put a verified exchange's ccxt bundle (scripts/bundle.ts: `ccxt-<id>.js`, its class and ccxt's
 * error classes in one CommonJS file, next to the daemon bundles). Found beside the running code: the daemon
 * bundle (dist/daemons) or the test daemon's (dist/test-daemons, whose sibling is dist/daemons). Code run
 * unbundled (tsc's output, the tests) finds none and loads ccxt's ES module from node_modules instead.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readPackageVersion } from '../../ops/version';

export const CCXT_BUNDLE_PREFIX = 'ccxt-';

export function ccxtBundleFile(exchangeId: string, besides: string = __dirname): string | undefined {
  const name = `${CCXT_BUNDLE_PREFIX}${exchangeId}.js`;
  return [path.join(besides, name), path.join(besides, '..', 'daemons', name)].find((file) =>
    existsSync(file),
  );
}

let version: string | undefined;

/**
 * The installed ccxt's version (its package.json: ccxt's own version constant is not set when one exchange is
 * loaded alone, and its ES entry's lags the package), `unknown` when it cannot be read. The bundles are built from
 * the same node_modules.
 */
export function ccxtVersion(): string {
  if (version === undefined) {
    let file: string | undefined;
    try {
      file = path.join(path.dirname(require.resolve('ccxt')), '..', 'package.json');
    } catch {
      // ccxt not resolvable from here
    }
    version = (file && readPackageVersion(file)) || 'unknown';
  }
  return version;
}
