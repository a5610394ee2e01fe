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

/**
 * The version of the ccxt the build bundled, written into the daemon bundle by scripts/bundle.ts (esbuild `define`,
 * read from the same node_modules the ccxt bundles are built from); not defined in tsc's output (tests, CLI).
 */
declare const BYNINJA_BUNDLED_CCXT_VERSION: string | undefined;

let version: string | undefined;

/**
 * The ccxt version (ccxt's own version constant is not set when one exchange is loaded alone, and its ES entry's
 * lags the package): in the daemon bundle the one the build bundled, constant (finding and reading ccxt's
 * package.json cost every live start ~3 ms of CPU before its first request); elsewhere the installed package.json's,
 * `unknown` when it cannot be read.
 */
export function ccxtVersion(): string {
  if (version === undefined) {
    version =
      typeof BYNINJA_BUNDLED_CCXT_VERSION === 'string'
        ? BYNINJA_BUNDLED_CCXT_VERSION
        : installedCcxtVersion();
  }
  return version;
}

/** The installed ccxt's version from its package.json, `unknown` when it cannot be read. */
export function installedCcxtVersion(): string {
  let file: string | undefined;
  try {
    file = path.join(path.dirname(require.resolve('ccxt')), '..', 'package.json');
  } catch {
    // ccxt not resolvable from here
  }
  return (file && readPackageVersion(file)) || 'unknown';
}
