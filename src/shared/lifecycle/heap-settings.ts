/**
 * The daemons' V8 memory settings, applied at run time once a daemon is ready (service.ts), not as node_args.
 *
 * What they hold (`npm run soak`, docs/operations.md, Memory): V8's young generation doubles under sustained
 * allocation (to 16 MiB semi-spaces by default), which RSS shows as steps of growth; and V8 keeps freed old-space pages
 * committed unless a full collection compacts them. So the young generation stops growing
 * (`--semi-space-growth-factor=1`: it keeps the size it has and may still shrink, V8 reads the factor at each
 * resize) and every full collection compacts (`--compact-on-every-full-gc`, read at each collection).
 *
 * Why at run time: any V8 flag on the command line changes V8's flag hash, and node 20's built-in code cache (made
 * without flags) is then rejected: every node module a start loads (crypto, net, worker_threads, tls…) compiled
 * from source, ~19 ms of each start. Set after the start, they change the hash only for what is compiled later.
 * Our own bundles' code caches are checked and written under the start's flags: `withStartFlags` puts the
 * start's flags back around the compile and the write, or the next start (without the settings yet) would reject it.
 * Whether they are applied is kept on the process (a global symbol), not in this module: the launcher's bundle and
 * the daemon's bundle each hold a copy of it (and of code-cache.ts), one process.
 *
 * V8 flags are process-wide, and V8 11.3's Heap::ConfigureHeap, run for every new isolate (a worker thread's), sets
 * --semi-space-growth-factor back to 2 when it is below: a Worker whose isolate comes up after the settings undoes the
 * first of them for every isolate of the process, silently. So they wait for the watchdog's worker (service.ts), and
 * nothing may start a Worker once they are applied.
 */
import v8 from 'node:v8';

const SETTINGS = ['--semi-space-growth-factor=1', '--compact-on-every-full-gc'];
/** V8 11's defaults of the same flags: a flag at its default value does not count in the flag hash. */
const DEFAULTS = ['--semi-space-growth-factor=2', '--no-compact-on-every-full-gc'];

const APPLIED = Symbol.for('byninja.heapSettingsApplied');
const processWide = globalThis as { [APPLIED]?: boolean };

/**
 * Applies the settings (once per process; later calls do nothing) — unless the process was started with either
 * flag of its own (node_args or NODE_OPTIONS the operator set, or a PM2 dump saved with an older ecosystem file):
 * those stand, and changing them now would only make the code caches this start wrote disagree with the next.
 */
export function applyHeapSettings(): void {
  if (processWide[APPLIED] !== undefined) return;
  processWide[APPLIED] = !startedWithOwnSettings([...process.execArgv, process.env.NODE_OPTIONS ?? '']);
  if (processWide[APPLIED]) for (const flag of SETTINGS) v8.setFlagsFromString(flag);
}

/** Whether node's command line (or NODE_OPTIONS) already sets one of the flags the settings set. */
export function startedWithOwnSettings(args: readonly string[]): boolean {
  return args.some((arg) =>
    /(^|\s)--(no-)?(semi[-_]space[-_]growth[-_]factor|compact[-_]on[-_]every[-_]full[-_]gc)\b/.test(arg),
  );
}

/** Runs `fn` (a code cache's compile or serialisation) under the flags a start runs with, then restores the settings. */
export function withStartFlags<T>(fn: () => T): T {
  if (!processWide[APPLIED]) return fn();
  for (const flag of DEFAULTS) v8.setFlagsFromString(flag);
  try {
    return fn();
  } finally {
    for (const flag of SETTINGS) v8.setFlagsFromString(flag);
  }
}
