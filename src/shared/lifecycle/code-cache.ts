/**
 * Runs a bundle as a CommonJS module with a V8 code cache, so a restart skips parsing and compiling the code it ran
 * last time (Node 22's module.enableCompileCache, done by hand for Node 20). Used for the daemon bundles
 * (dist/daemons/<name>.bundle.js: the launcher dist/daemons/<name>.js that scripts/bundle.ts writes is bundled from
 * scripts/daemon-launcher/, which calls this) and for a verified exchange's ccxt bundle
 * (trading/exchange/ccxt-bundle.ts), the two largest things a live start compiles.
 *
 * Safety: the cache is only an optimisation and never decides what runs.
 * - Its file name carries a hash of the bundle file's bytes, the node version and the architecture, so a rebuilt
 *   bundle never meets a stale cache (V8 itself checks only the source length).
 * - Its content starts with a SHA-256 of the payload; a torn or corrupted file fails that check and is ignored.
 * - V8 may still reject it (different flags); then the bundle compiles as usual and the cache is rewritten. It is
 *   made and checked under the flags a start has, not the heap settings applied after ready (heap-settings.ts).
 * - It is written once, as soon as the daemon reported ready to PM2 (`process.send('ready')`: the functions its
 *   start compiled are what the next start needs), or `writeAfterMs` after start for a process that never says
 *   ready; to a temp file renamed into place; any failure (read-only install, full disk) is ignored: the daemon
 *   runs the same without. (Only after 3 s, it was never written by a process that lived less: a crash loop, or
 *   every bench restart, started uncached.)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { withStartFlags } from './heap-settings';

const DIGEST_BYTES = 32;

export interface CodeCacheOptions {
  /** Where cache files go (default: `.cache` next to the bundle). */
  cacheDir?: string;
  /**
   * When to write the cache after start at the latest (default 3 s) — it is written sooner, right after the
   * daemon's `ready` message, when it sends one.
   */
  writeAfterMs?: number;
}

export interface CodeCacheResult {
  cacheFile: string;
  /** 'used': compiled from the cache; 'rejected': V8 refused it; 'none': no valid cache file. */
  cache: 'used' | 'rejected' | 'none';
}

/** Runs `bundleFile` as a CommonJS module compiled with its code cache; returns what it exported. */
export function requireWithCodeCache(
  bundleFile: string,
  opts: CodeCacheOptions = {},
): CodeCacheResult & { exports: unknown } {
  // the key hashes the file's bytes as read: hashing the decoded string made crypto encode it back to UTF-8 first
  // (reading and keying ccxt's binance bundle, 1.8 MB: 8.3 → 6.4 ms of CPU; the trading bundle's 4.5 → 4.0; median
  // of 25 fresh processes each, alternated)
  const bytes = fs.readFileSync(bundleFile);
  const key = createHash('sha256')
    .update(bytes)
    .update(`\0${process.version}\0${process.arch}`)
    .digest('hex')
    .slice(0, 20);
  const source = bytes.toString('utf8');
  const cacheDir = opts.cacheDir ?? path.join(path.dirname(bundleFile), '.cache');
  const cacheFile = path.join(cacheDir, `${path.basename(bundleFile, '.js')}-${key}.v8cache`);
  const cachedData = readCacheFile(cacheFile);

  // compiled under the start's flags, as the cache was written (heap-settings.ts): a bundle loaded once the settings
  // apply (ccxt's, in a start that took over 10 s) would find its cache rejected and write it again at every start
  const script = withStartFlags(
    () =>
      new vm.Script(Module.wrap(source), {
        filename: bundleFile,
        cachedData,
        // The bundles call no import(): esbuild turns it into require() (scripts/bundle.ts: on Node 20 a script
        // compiled from a code cache loses this callback on later starts) and ccxt's exchange modules are bundled or
        // require()d. This only makes a stray import() in a dependency resolve as in any CommonJS module on a
        // first, uncached start.
        importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
      }),
  );
  const cache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';

  const mod = new Module(bundleFile, require.main ?? undefined);
  mod.filename = bundleFile;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    path.dirname(bundleFile),
  );
  const moduleRequire = Module.createRequire(bundleFile);
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: Module,
    filename: string,
    dirname: string,
  ) => void;

  if (cache !== 'used') writeOnceReady(() => writeCache(cacheFile, script), opts.writeAfterMs ?? 3000);
  wrapper.call(mod.exports, mod.exports, moduleRequire, mod, bundleFile, path.dirname(bundleFile));
  mod.loaded = true;
  return { cacheFile, cache, exports: mod.exports };
}

/**
 * Runs `write` once: on the turn after the process's first `ready` message to its parent (PM2's wait_ready), or
 * `latestMs` after now, whichever comes first. process.send is wrapped only until then (each bundle loaded with a
 * cache wraps it once; a wrapper left behind in the chain passes every message through).
 */
function writeOnceReady(write: () => void, latestMs: number): void {
  type Send = (this: NodeJS.Process, ...args: unknown[]) => boolean;
  const send = process.send as Send | undefined;
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (watching && (process.send as unknown) === watching) process.send = send as NodeJS.Process['send'];
    write();
  };
  // the write waits for the message to be on its way (a turn later), never delays it
  const watching: Send | undefined =
    send &&
    function (...args) {
      const sent = send.apply(this, args);
      if (args[0] === 'ready') setImmediate(once);
      return sent;
    };
  const timer = setTimeout(once, latestMs);
  timer.unref();
  if (watching) process.send = watching as NodeJS.Process['send'];
}

/**
 * A cache file's payload when it is intact — the SHA-256 of the payload first, then the payload, as writeCacheFile
 * writes it — else undefined (missing, unreadable, torn or altered). The daemons' cache files beside their bundles,
 * the V8 code caches and the validated configuration (shared/config/validated-config-cache.ts), are read with it.
 */
export function readCacheFile(file: string): Buffer | undefined {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (raw.length <= DIGEST_BYTES) return undefined;
  const payload = raw.subarray(DIGEST_BYTES);
  const digest = createHash('sha256').update(payload).digest();
  return digest.equals(raw.subarray(0, DIGEST_BYTES)) ? payload : undefined;
}

/**
 * Writes `payload` behind its SHA-256 to a temp file renamed into place (its folder made if needed); false when it
 * could not (read-only install, full disk): a cache is only an optimisation, its callers go on without it.
 */
export function writeCacheFile(file: string, payload: Buffer, mode?: number): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const digest = createHash('sha256').update(payload).digest();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, Buffer.concat([digest, payload]), { mode });
    fs.renameSync(tmp, file);
    return true;
  } catch {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    return false;
  }
}

function writeCache(file: string, script: vm.Script): void {
  try {
    // under the flags the next start compiles with (heap-settings.ts: V8 checks its flag hash)
    const payload = withStartFlags(() => script.createCachedData());
    if (writeCacheFile(file, payload)) removeOtherCaches(file);
  } catch {
    // no cache this time: the next start compiles and writes it
  }
}

/** Caches of older builds of the same bundle are dead weight: keep only the current one. */
function removeOtherCaches(current: string): void {
  const dir = path.dirname(current);
  const prefix = path.basename(current).replace(/-[0-9a-f]+\.v8cache$/, '-');
  for (const name of fs.readdirSync(dir)) {
    if (name !== path.basename(current) && name.startsWith(prefix) && name.endsWith('.v8cache')) {
      fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}
