/** Command line of `npm run chaos`. */
import { FAULT_KINDS, type FaultKind } from './faults';

export interface ChaosOptions {
  /** Stop after this many faults (default 20 when neither faults nor duration is given). */
  faults?: number;
  /** Stop after this many seconds of fault injection. */
  durationSec?: number;
  seed: number;
  /** Fault kinds to draw from (default: all; the disk kinds only where a tmpfs can be mounted). */
  kinds: FaultKind[];
  /**
   * When trading's next PM2 restart delay (exponential backoff: ×1.5 per restart, reset after 30 s up) would
   * exceed this, a fault that does not restart trading is drawn instead, until PM2 resets the delay. Keeps short
   * runs short; unset, the run walks into PM2's 15 s cap like a real crash loop would.
   */
  backoffCapMs?: number;
  /** Keep the temp dir (PM2 home, data, logs) for inspection. */
  keep: boolean;
  /** Progress lines on stderr. */
  verbose: boolean;
}

export const USAGE =
  'usage: node dist/scripts/chaos.js [--faults N] [--duration S] [--seed X] [--kinds a,b] [--backoff-cap MS] [--keep] [--quiet]\n' +
  `  kinds: ${FAULT_KINDS.join(', ')}\n` +
  '  (disk-full and disk-readonly put the data dir on a tmpfs: they need root, and are left out where mounting fails)';

export function parseChaosArgs(argv: readonly string[]): ChaosOptions {
  const opts: ChaosOptions = {
    seed: Date.now() % 1_000_000,
    kinds: [...FAULT_KINDS],
    keep: false,
    verbose: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const positive = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0)
        throw new Error(`${a} must be a positive integer (got ${v})\n${USAGE}`);
      return n;
    };
    if (a === '--faults') opts.faults = positive(value());
    else if (a === '--duration') opts.durationSec = positive(value());
    else if (a === '--seed') opts.seed = positive(value());
    else if (a === '--backoff-cap') opts.backoffCapMs = positive(value());
    else if (a === '--keep') opts.keep = true;
    else if (a === '--quiet') opts.verbose = false;
    else if (a === '--kinds') {
      const kinds = value()
        .split(',')
        .map((k) => k.trim());
      const bad = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
      if (bad.length || kinds.length === 0)
        throw new Error(`unknown fault kind(s) ${bad.join(', ')}\n${USAGE}`);
      opts.kinds = kinds as FaultKind[];
    } else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (opts.faults === undefined && opts.durationSec === undefined) opts.faults = 20;
  return opts;
}
