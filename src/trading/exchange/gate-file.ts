/**
 * The rate-limit gate's "closed until" kept between runs (`trading-rate-limit.json` in the data dir, one entry per
 * exchange): after a Binance 418 (an IP ban, "from 2 minutes to 3 days", longer for every request sent during it) a
 * crash loop or an operator's /restart must not send the start's reads straight into the ban. The gate
 * (rate-limit-gate.ts) reads it before its first request and honours only a future time, at most the profile's
 * longest documented wait away (a clock moved back, a hand-edited file); every closing of the whole gate is kept.
 *
 * Written durably (temp → fsync → rename → fsync dir, durable-file.ts) as soon as the gate closes: the process may
 * be killed a moment later. A file that does not parse or fails its schema is quarantined (renamed aside,
 * quarantine.ts) and ignored: the start then sends as it would without one (and a ban still in force answers 418
 * again, which closes the gate again). Unreadable: ignored, logged.
 */
import path from 'node:path';
import * as z from 'zod';
import type { Clock } from '../../shared/clock';
import { errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import { removeStaleTempFilesSync, writeFileDurable } from '../../shared/persistence/durable-file';
import { readJsonFileSync } from '../../shared/persistence/json-file';
import { quarantineFile } from '../../shared/persistence/quarantine';

export const GATE_FILE = 'trading-rate-limit.json';

/**
 * How long after a closing of the whole gate (its wait, or when it was kept, whichever is later) a start still sends
 * its first reads alone and recovery's only once they answered (recovery-reads.ts): a day, for an IP that was
 * refused lately.
 */
export const REFUSED_LATELY_MS = 24 * 60 * 60_000;

/** One exchange's kept closing: until when, and when it was kept. */
export interface KeptClosing {
  closedUntil: number;
  savedAt: number;
}

/**
 * Whether `kept` says the whole gate was closed within `withinMs` before `now`, or still is (a time ahead of `now`
 * too: a clock moved back). (pure)
 */
export function refusedWithin(kept: KeptClosing | undefined, now: number, withinMs: number): boolean {
  if (!kept) return false;
  return Math.max(kept.closedUntil, kept.savedAt) > now - withinMs;
}

const epochMs = z.number().int().min(0);
const gateFileSchema = z.looseObject({
  version: z.literal(1),
  gates: z.record(z.string().min(1), z.looseObject({ closedUntil: epochMs, savedAt: epochMs })),
});
export type GateFileContent = z.infer<typeof gateFileSchema>;

export interface GateFileOptions {
  dataDir: string;
  /** The ccxt exchange id: this run's entry. */
  exchangeId: string;
  clock: Clock;
  logger?: Logger;
}

export class GateFile {
  readonly file: string;
  /** What the file holds (read at start, or written since): the other exchanges' entries are kept as they are. */
  private content: GateFileContent = { version: 1, gates: {} };
  private read?: Promise<number | undefined>;
  private writing?: Promise<void>;
  private dirty = false;
  /** The file was there but could not be read or trusted: what it held is not known. */
  private unknown = false;

  constructor(private readonly opts: GateFileOptions) {
    this.file = path.join(opts.dataDir, GATE_FILE);
  }

  /** This exchange's kept "closed until" (read once; never rejects), or undefined. */
  closedUntil(): Promise<number | undefined> {
    this.read ??= this.readFile().catch((err: unknown) => {
      this.unknown = true;
      this.opts.logger?.warn('Kept rate-limit wait not read; starting without it', {
        error: errorMessage(err),
      });
      return undefined;
    });
    return this.read;
  }

  /**
   * Whether this exchange refused this bot for rate (a closing of the whole gate) within `withinMs`, as the file read
   * at start and this run's closings say; a file that could not be read or trusted counts as refused (never
   * rejects).
   */
  async refusedLately(withinMs = REFUSED_LATELY_MS): Promise<boolean> {
    await this.closedUntil();
    return (
      this.unknown || refusedWithin(this.content.gates[this.opts.exchangeId], this.opts.clock.now(), withinMs)
    );
  }

  /** The gate closed until `until`: kept for the next start (written in the background; failures logged). */
  save(until: number): void {
    const kept = this.content.gates[this.opts.exchangeId];
    if (kept && kept.closedUntil >= until) return;
    this.content = {
      version: 1,
      gates: {
        ...this.content.gates,
        [this.opts.exchangeId]: { closedUntil: until, savedAt: this.opts.clock.now() },
      },
    };
    this.dirty = true;
    this.writing ??= this.writeLatest().finally(() => (this.writing = undefined));
  }

  /** Waits for a write in progress. */
  async close(): Promise<void> {
    await this.writing;
  }

  /**
   * Read synchronously (at most 64 KiB): a start's first requests (early-reads.ts) and its rate-limit gate wait for
   * it, and an asynchronous read's thread-pool round trips each waited for a turn of the event loop.
   */
  private async readFile(): Promise<number | undefined> {
    const read = readJsonFileSync(this.file, {
      parse: (v) => gateFileSchema.parse(v),
      maxBytes: 64 * 1024,
    });
    switch (read.kind) {
      case 'missing':
        return undefined;
      case 'unreadable':
        this.unknown = true;
        this.opts.logger?.warn('Kept rate-limit wait unreadable; starting without it', {
          file: this.file,
          error: read.error.code ?? read.error.message,
        });
        return undefined;
      case 'corrupt': {
        this.unknown = true;
        const aside = await quarantineFile(this.file, new Date(this.opts.clock.now())).catch(
          (err: unknown) => `not set aside: ${errorMessage(err)}`,
        );
        this.opts.logger?.warn('Kept rate-limit wait did not match its schema; set aside and ignored', {
          file: this.file,
          reason: read.reason,
          aside,
        });
        return undefined;
      }
      case 'valid': {
        // a save made while the file was being read is newer: kept over what was read
        this.content = { version: 1, gates: { ...read.value.gates, ...this.content.gates } };
        return read.value.gates[this.opts.exchangeId]?.closedUntil;
      }
    }
  }

  private async writeLatest(): Promise<void> {
    // the read first: the other exchanges' entries are not lost (and a corrupt file is set aside before)
    await this.closedUntil();
    while (this.dirty) {
      this.dirty = false;
      try {
        removeStaleTempFilesSync(this.file);
        await writeFileDurable(this.file, JSON.stringify(this.content));
      } catch (err) {
        this.opts.logger?.warn('Could not keep the rate-limit wait on disk', { error: errorMessage(err) });
      }
    }
  }
}
