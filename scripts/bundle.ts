/**
 * Bundles each daemon into one file under <build>/daemons/ (run by `npm run build`, after tsc has type-checked and
 * compiled everything into that build's directory, scripts/build.js). PM2 runs these bundles, not the per-module tsc output: node resolves, reads and compiles
 * ~400 small CommonJS files for a daemon otherwise, and that module loading was most of a restart (SIGKILL → ready
 * went from ~4× a bare node to under 3×; see docs/benchmarks.md). Bundled from the TypeScript sources so the ES
 * module builds of dependencies are tree-shaken (zod's 60 unused locales, its JSON-schema code).
 *
 * Kept outside the daemon bundles:
 * - ccxt: loaded lazily, one exchange only (src/trading/exchange/ccxt-exchange.ts). Each exchange live mode is
 *   verified on gets its own bundle next to the daemons, `ccxt-<id>.js` (its ES module, ccxt's base class, error
 *   classes and HTTP client undici in one CommonJS file, loaded only in live or dry-run mode on that exchange): node
 *   resolving, reading and compiling ccxt's ~150 ES modules and undici's ~100 CommonJS files was ~0.25 s of every
 *   live start (--cpu-prof: ESM compile and resolve, cjs-module-lexer, undici's modules). Any other exchange (dry
 *   run) is loaded from node_modules;
 * - pm2: its API spawns its daemon by file path inside its own package;
 * - telegraf: bundled, the telegram daemon's steady RSS was ~15 MiB higher (82–88 vs ~70 MiB, measured under PM2;
 *   2× a bare node is the target) for no start-up gain that matters (telegram's restart is not on the alert path).
 * esbuild's `__toESM` (a default import of a CommonJS module: node's built-ins) is replaced by one that does not copy
 * the module (bundle-interop.ts: ~1 MiB less to allocate at every start).
 * The parsers zod generates for the state files are generated here, not at each start (zod-prebuild.ts).
 * Names are kept (`keepNames`) and identifiers are not mangled, so stack traces in the logs stay readable; a
 * source map is written next to each bundle to translate a trace's bundle positions to the TypeScript sources by
 * hand (node applies none to the bundle: it is compiled through vm.Script, which reads no source map).
 *
 * What PM2 starts, `dist/daemons/<name>.js`, is a small launcher bundled here (writeLauncher) that runs
 * `<name>.bundle.js` with a V8 code cache (scripts/daemon-launcher/code-cache.ts): a restart then skips compiling
 * what the last run compiled.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { verifiedExchangeIds } from '../src/trading/exchange/profiles';
import { CCXT_BUNDLE_PREFIX, installedCcxtVersion } from '../src/trading/exchange/ccxt-bundle';
import { ccxtDependencyPlugin } from './ccxt-bundle-deps';
import { FINGERPRINT_PLACEHOLDER, withFingerprint } from './bundle-fingerprint';
import { recordRestNames, type RestNameRow } from '../src/trading/exchange/ccxt-rest-names';

type CcxtClass = Parameters<typeof recordRestNames>[0];
import { usePrototypeToEsm } from './bundle-interop';
import { prebuiltParsersModule } from './zod-prebuild';
import { stateSchemas } from '../src/trading/engine/state/trading-state-schema';
import { paperAccountSchema } from '../src/trading/exchange/paper-account';

const ROOT = path.resolve(__dirname, '../..');
/** `<build>/daemons`: next to the compiled scripts of the build being made (scripts/build.js), never `dist` itself. */
export const DAEMONS_DIR = path.resolve(__dirname, '..', 'daemons');
/**
 * `<build>/test-daemons`: the trading daemon with test-only faults (crash points, exchange faults, the SIGUSR2 busy
 * loop; harness/daemons/), for the crash and chaos tests. Bundled apart so what PM2 runs in production
 * contains none of it (test/launch checks the shipped bundles).
 */
export const TEST_DAEMONS_DIR = path.resolve(__dirname, '..', 'test-daemons');

/** The daemons: each becomes `<name>.bundle.js` plus its launcher `<name>.js`. */
const DAEMONS = {
  trading: 'src/trading/main.ts',
  telegram: 'src/telegram/main.ts',
};

/**
 * Bundle entry points → output names in dist/daemons/. The watchdog worker and telegram's chart process sit next to
 * their daemons (each is found beside the code that starts it, `__dirname`).
 */
const ENTRIES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(DAEMONS).map(([name, entry]) => [`${name}.bundle`, entry])),
  'watchdog-worker': 'src/shared/lifecycle/watchdog-worker.ts',
  'chart-child': 'src/telegram/charts/chart-child.ts',
};

/**
 * What PM2 runs for daemon `name`, `<dir>/<name>.js`: marks its build in use and runs `<name>.bundle.js` with its V8
 * code cache (scripts/daemon-launcher/). One file bundled from those modules, with no source map: the per-module
 * tsc output it required before (four files, each with a `sourceMappingURL`) had node read and parse each `.map` at
 * every start under PM2, which enables source maps in the processes it forks (ProcessContainerFork): ~3–5 ms of
 * each start. The daemon bundle itself is compiled by vm.Script, which reads no source map.
 */
async function writeLauncher(name: string, dir: string): Promise<void> {
  const outfile = path.join(dir, `${name}.js`);
  await build({
    absWorkingDir: ROOT,
    stdin: {
      contents:
        `import path from 'node:path';\n` +
        `import { markBuildInUse } from './scripts/daemon-launcher/build-in-use';\n` +
        `import { runWithCodeCache } from './scripts/daemon-launcher/code-cache';\n` +
        `markBuildInUse(path.join(__dirname, '..'));\n` +
        `runWithCodeCache(path.join(__dirname, ${JSON.stringify(`${name}.bundle.js`)}));\n`,
      resolveDir: ROOT,
      sourcefile: `${name}-launcher.ts`,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: {
      js: `// Generated by scripts/bundle.ts: PM2 runs this; it runs ${name}.bundle.js with a V8 code cache.`,
    },
    keepNames: true,
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  fs.writeFileSync(outfile, usePrototypeToEsm(fs.readFileSync(outfile, 'utf8'), outfile));
}

/** The test daemons and their watchdog worker. */
const TEST_ENTRIES: Record<string, string> = {
  'trading.bundle': 'harness/daemons/trading.ts',
  'watchdog-worker': 'src/shared/lifecycle/watchdog-worker.ts',
};

/** The ccxt the build bundles: its version must be known (it keys the markets kept between starts). */
function bundledCcxtVersion(): string {
  const version = installedCcxtVersion();
  if (version === 'unknown') throw new Error('cannot read the version of node_modules/ccxt: run npm ci');
  return version;
}

/**
 * The parsers of the state files generated now rather than at each start (zod-prebuild.ts): the daemon bundles get
 * this module in place of src/shared/config/zod-prebuilt.ts. The ids are those the schemas' modules give
 * compiledParser.
 */
function prebuiltParsers(): Plugin {
  const contents = prebuiltParsersModule({
    'trading-state': stateSchemas().tradingStateSchema,
    'history-entry': stateSchemas().historyEntrySchema,
    'paper-account': paperAccountSchema,
  });
  return {
    name: 'zod-prebuilt',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]shared[\\/]config[\\/]zod-prebuilt\.ts$/ }, () => ({
        contents,
        loader: 'js',
        resolveDir: ROOT,
      }));
    },
  };
}

async function bundle(entryPoints: Record<string, string>, outdir: string, plugins: Plugin[]) {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // the chart libraries load on the first chart only (@napi-rs/canvas is a native addon)
    external: ['ccxt', 'pm2', 'telegraf', '@napi-rs/canvas', 'chart.js'],
    // the version of the ccxt bundled beside the daemons, a constant: not found and read at every live start
    // the bundle's own SHA-256 (written below): what the validated configuration it keeps was validated by
    define: {
      BYNINJA_BUNDLED_CCXT_VERSION: JSON.stringify(bundledCcxtVersion()),
      BYNINJA_BUNDLE_FINGERPRINT: JSON.stringify(FINGERPRINT_PLACEHOLDER),
    },
    keepNames: true,
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    legalComments: 'none',
    // import(x) of a run-time path becomes require(x) (node ≥ 20.19 requires ES modules): on Node 20 a vm.Script
    // compiled from a code cache loses its dynamic-import callback (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so
    // every start after the first could not import() ccxt's single-exchange module
    supported: { 'dynamic-import': false },
    plugins,
    logLevel: 'warning',
    metafile: true,
  });
  // esbuild's CommonJS interop copies each imported module: a cheaper helper, same reads (bundle-interop.ts)
  for (const file of Object.keys(result.metafile.outputs)) {
    if (!file.endsWith('.js')) continue;
    const out = path.join(ROOT, file);
    const code = fs.readFileSync(out, 'utf8');
    const interop = code.includes('__toESM=') ? usePrototypeToEsm(code, file) : code;
    const final = withFingerprint(interop);
    if (final !== code) fs.writeFileSync(out, final);
  }
  return result;
}

/**
 * One CommonJS file per verified exchange: its ccxt class (`default`) and ccxt's error classes (`errors`, for the
 * profile's error codes: the same copies the class throws). ccxt reaches its HTTP client through import('undici'),
 * which becomes a require() bundled in (supported: dynamic-import false). What ccxt imports only for exchanges this
 * one never uses (protobufjs: MEXC and dYdX, not installed) stays an external require() that never runs; Starknet
 * signing and the rest of undici load on first use (ccxt-bundle-deps.ts). With them the names ccxt gives the class's
 * implicit REST methods (`restNames`: worked out here, not at each start; ccxt-rest-names.ts).
 */
async function bundleCcxt(outdir: string) {
  const src = path.join(path.dirname(require.resolve('ccxt')), '..', 'js', 'src');
  const entries: Record<string, string> = {};
  // the names ccxt gives each class's implicit REST methods, from the ccxt being bundled (ccxt-rest-names.ts)
  const restNames: Record<string, RestNameRow[]> = {};
  for (const id of verifiedExchangeIds()) {
    entries[`${CCXT_BUNDLE_PREFIX}${id}`] = `ccxt-entry:${id}`;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    restNames[id] = recordRestNames((require(path.join(src, `${id}.js`)) as { default: CcxtClass }).default);
  }
  const virtualEntries: Plugin = {
    name: 'ccxt-entries',
    setup(b) {
      b.onResolve({ filter: /^ccxt-entry:/ }, (args) => ({ path: args.path, namespace: 'ccxt-entry' }));
      b.onLoad({ filter: /.*/, namespace: 'ccxt-entry' }, (args) => ({
        contents:
          `export { default } from ${JSON.stringify(path.join(src, `${args.path.slice('ccxt-entry:'.length)}.js`))};\n` +
          `export * as errors from ${JSON.stringify(path.join(src, 'base', 'errors.js'))};\n` +
          `export const restNames = ${JSON.stringify(restNames[args.path.slice('ccxt-entry:'.length)])};\n`,
        resolveDir: src,
        loader: 'js',
      }));
    },
  };
  return build({
    absWorkingDir: ROOT,
    entryPoints: entries,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['protobufjs', 'protobufjs/*'],
    plugins: [virtualEntries, ccxtDependencyPlugin(ROOT)],
    // ccxt's error classes are matched by name (ccxt-errors.ts)
    keepNames: true,
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    supported: { 'dynamic-import': false },
    logLevel: 'warning',
    metafile: true,
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const plugins = [prebuiltParsers()];
  const result = await bundle(ENTRIES, DAEMONS_DIR, plugins);
  const ccxt = await bundleCcxt(DAEMONS_DIR);
  for (const name of Object.keys(DAEMONS)) await writeLauncher(name, DAEMONS_DIR);
  if (fs.existsSync(path.join(ROOT, TEST_ENTRIES['trading.bundle']))) {
    await bundle(TEST_ENTRIES, TEST_DAEMONS_DIR, plugins);
    await writeLauncher('trading', TEST_DAEMONS_DIR);
  }
  const sizes = Object.entries({ ...result.metafile.outputs, ...ccxt.metafile.outputs })
    .filter(([file]) => file.endsWith('.js'))
    .map(([file, out]) => `${path.basename(file)} ${(out.bytes / 1024).toFixed(0)} KiB`);
  console.log(
    `bundled daemons into ${path.relative(ROOT, DAEMONS_DIR)} in ${Date.now() - started} ms: ${sizes.join(', ')}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
