/**
 * The exchange's markets kept on disk between runs (`trading-markets.json` in the data dir), so a live restart need
 * not wait a round trip for them before recovery reads its orders: ccxt maps symbols to the exchange's ids and
 * parses every order answer with the markets, and with these in place recovery's reads go out beside the fresh
 * markets load instead of after it (ccxt-exchange.ts puts them in ccxt with `setMarkets`, the call its own
 * `loadMarkets` ends with, so ccxt holds what a load of the same answer would give it).
 *
 * Kept markets only stand in for reading: the fresh load still runs at every start, and nothing is sized or placed
 * before it answered (the loop's first tick waits for it, the order manager refuses until then). So what they may be
 * is bounded like the markets a running trading holds: used only when
 * - they were read from the same exchange, sandbox flag, API URL and key (a testnet's markets never serve the main
 *   exchange, another account's never this one's — URL and key are kept as hashes, never in clear: a URL may carry
 *   credentials or name a private gateway), with the same ccxt options (defaultType, the profile's options and
 *   capabilities, the operator's ccxtOptions: they shape what ccxt builds), by the same ccxt version and the same
 *   ByNinja version (either may build or read markets differently);
 * - they cover every symbol traded (checked by the start: connect-reads.ts);
 * - at most `maxAgeMs` old (trading.marketsRefreshMs, the age a running trading lets its markets reach, 24 h by
 *   default); a file from the future (the clock moved back) is not used either.
 * Anything else is ignored and replaced by the next fresh load; a file that does not parse or fails its schema is
 * renamed to `trading-markets.json.corrupt`, replacing the copy set aside before (a cache: one copy to look at, never
 * a growing series). Deleting it costs the next start one round trip, nothing else; backups leave it out.
 *
 * Only what the start needs is kept: the traded symbols' markets and the currencies of their base and quote (a few
 * KB), not the exchange's whole list (Binance: ~3,400 markets, 8 MB of JSON — reading, checking and putting that in
 * ccxt cost more CPU than the round trip it saves). ccxt parses the traded symbols' orders and trades and the balance
 * with them as it does with the whole list (kept-markets-ccxt.test.ts); an answer naming a market outside them is
 * read again once the fresh markets are in (recovery-reads.ts).
 *
 * Written durably (temp → fsync → rename → fsync dir) after a fresh load — at once: a restart loop whose runs last a
 * second must still leave it behind — when the file is missing, unusable or past half its allowed age; a younger
 * one is left as it is, changed markets included (they only stand in for reading, and the fresh load is confirmed
 * before any order either way), so most starts neither serialise nor write the markets (~40–90 ms of CPU and an
 * write).
 */
import { formatSpan } from '../../shared/format-span';
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as z from 'zod';
import type { Clock } from '../../shared/clock';
import { errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logging/logger';
import { removeStaleTempFilesSync, writeFileDurable } from '../../shared/persistence/durable-file';
import { readJsonFileSync } from '../../shared/persistence/json-file';

export const KEPT_MARKETS_FILE = 'trading-markets.json';
/** The one copy of a corrupt file set aside (`trading-markets.json.corrupt`). */
export const CORRUPT_SUFFIX = '.corrupt';

/** A short hash of what identifies the markets' source but must not be kept in clear (a URL, options). */
export function sourceHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** Do these markets hold every symbol? (pure) */
export function coversSymbols(markets: KeptMarkets['markets'], symbols: readonly string[]): boolean {
  const have = new Set(markets.map((m) => m.symbol));
  return symbols.every((symbol) => have.has(symbol));
}

/** The traded symbols' markets and the currencies of their base and quote, in ccxt's order. (pure) */
export function neededBy(
  symbols: readonly string[],
  markets: KeptMarkets['markets'],
  currencies?: KeptMarkets['currencies'],
): Pick<KeptMarkets, 'markets' | 'currencies'> {
  const traded = new Set(symbols);
  const kept = markets.filter((m) => traded.has(m.symbol as string));
  if (currencies === undefined) return { markets: kept };
  const codes = new Set(kept.flatMap((m) => [m.base as string, m.quote as string]));
  return {
    markets: kept,
    currencies: Object.fromEntries(Object.entries(currencies).filter(([code]) => codes.has(code))),
  };
}

/** Where kept markets came from; markets are used only where every field matches. */
export interface MarketsSource {
  /** ccxt exchange id. */
  exchange: string;
  sandbox: boolean;
  /** A hash of the configured API URL (a gateway, a local double), null for the exchange's own. */
  apiUrl: string | null;
  /** `key:<hash of the API key>` (the account fingerprint of state-identity.ts), `public` without a key. */
  account: string;
  /** ccxt's version. */
  ccxt: string;
  /** A hash of the ccxt options that shape markets (options, `has`) and the profile's id. */
  options: string;
  /** ByNinja's version (stamped by KeptMarketsFile). */
  byninja: string;
}

/** The file's content. */
export interface KeptMarkets {
  version: 1;
  source: MarketsSource;
  /** When the exchange answered them (epoch ms). */
  loadedAt: number;
  /** What ccxt's fetchMarkets returned, in its order. */
  markets: Array<Record<string, unknown>>;
  /** What ccxt's fetchCurrencies returned, where ccxt calls it on a market load. */
  currencies?: Record<string, unknown>;
}

const limit = z.number().nullable().optional();
const range = z.looseObject({ min: limit, max: limit }).nullable().optional();

/**
 * A ccxt market (ccxt's `MarketInterface`): the fields ccxt and the adapter read typed, every other field kept as
 * ccxt gave it (loose: a newer ccxt's extra fields are no reason to refuse).
 */
const ccxtMarketSchema = z.looseObject({
  id: z.string(),
  symbol: z.string(),
  base: z.string(),
  quote: z.string(),
  baseId: z.string().nullable().optional(),
  quoteId: z.string().nullable().optional(),
  type: z.string().nullable().optional(),
  spot: z.boolean().nullable().optional(),
  active: z.boolean().nullable().optional(),
  precision: z.looseObject({ amount: limit, price: limit }),
  limits: z.looseObject({ amount: range, price: range, cost: range }),
  info: z.unknown(),
});

const keptMarketsSchema = z.looseObject({
  version: z.literal(1),
  source: z.looseObject({
    exchange: z.string(),
    sandbox: z.boolean(),
    apiUrl: z.string().nullable(),
    account: z.string(),
    ccxt: z.string(),
    options: z.string(),
    byninja: z.string(),
  }),
  loadedAt: z.number().int().min(0),
  markets: z.array(ccxtMarketSchema),
  currencies: z.record(z.string(), z.unknown()).optional(),
});

export type KeptMarketsVerdict = { use: true } | { use: false; reason: string };

const SOURCE_WORDS: Record<keyof MarketsSource, string> = {
  exchange: 'another exchange',
  sandbox: 'the other of sandbox and main exchange',
  apiUrl: 'another API URL',
  account: 'another API key',
  ccxt: 'another ccxt version',
  options: 'other ccxt options',
  byninja: 'another ByNinja version',
};

/** May markets kept for `kept.source` at `kept.loadedAt` stand in for `source`'s at `now`? (pure) */
export function judgeKeptMarkets(
  kept: Pick<KeptMarkets, 'source' | 'loadedAt'>,
  source: MarketsSource,
  now: number,
  maxAgeMs: number,
): KeptMarketsVerdict {
  for (const key of Object.keys(SOURCE_WORDS) as Array<keyof MarketsSource>) {
    if (kept.source[key] !== source[key]) return { use: false, reason: `kept for ${SOURCE_WORDS[key]}` };
  }
  const age = now - kept.loadedAt;
  if (age < 0) return { use: false, reason: 'loaded later than now (the clock moved back)' };
  if (age > maxAgeMs) {
    return { use: false, reason: `${formatSpan(age)} old, more than ${formatSpan(maxAgeMs)}` };
  }
  return { use: true };
}

export interface KeptMarketsFileOptions {
  dataDir: string;
  /** The symbols traded: only their markets (and their currencies) are kept. */
  symbols: readonly string[];
  /** ByNinja's version, part of the file's identity. */
  appVersion: string;
  /** The oldest markets may be to stand in (trading.marketsRefreshMs). */
  maxAgeMs: number;
  clock: Clock;
  logger?: Logger;
}

export class KeptMarketsFile {
  readonly file: string;
  /** What the file holds, as far as this process knows (read at start, or written since). */
  private onDisk?: KeptMarkets;
  /** The markets to write next (a later load replaces ones not yet written). */
  private next?: KeptMarkets;
  private writing?: Promise<void>;
  private closed = false;

  constructor(private readonly opts: KeptMarketsFileOptions) {
    this.file = path.join(opts.dataDir, KEPT_MARKETS_FILE);
  }

  /**
   * The kept markets when they may stand in for `source` now, else undefined (why is logged). A file that does not
   * parse or match its schema is set aside. Never throws: without kept markets the start only waits for the fresh.
   * The file (a few KB) is read synchronously: an asynchronous read takes four thread-pool round trips, each waiting
   * for a turn of the event loop, which the start's synchronous work (ccxt's load, the state files) held back —
   * recovery's reads, which wait for these markets, left ~15 ms behind the first ones.
   */
  async read(ccxtSource: Omit<MarketsSource, 'byninja'>): Promise<KeptMarkets | undefined> {
    const source = this.stamp(ccxtSource);
    const read = readJsonFileSync(this.file, {
      // checked, then taken as parsed from the file: ccxt gets the markets as fetchMarkets gave them (zod's copy
      // would reorder their keys)
      parse: (value) => {
        keptMarketsSchema.parse(value);
        return value as KeptMarkets;
      },
    });
    switch (read.kind) {
      case 'missing':
        return undefined;
      case 'unreadable':
        this.opts.logger?.warn('Kept markets unreadable; loading them from the exchange', {
          file: this.file,
          error: read.error.code ?? read.error.message,
        });
        return undefined;
      case 'corrupt': {
        // one aside copy at most: each corrupt file replaces the one before
        const aside = await fsp.rename(this.file, `${this.file}${CORRUPT_SUFFIX}`).then(
          () => `${this.file}${CORRUPT_SUFFIX}`,
          (err: unknown) => `not set aside: ${errorMessage(err)}`,
        );
        this.opts.logger?.warn('Kept markets did not match their schema; set aside', {
          file: this.file,
          reason: read.reason,
          aside,
        });
        return undefined;
      }
      case 'valid': {
        this.onDisk = read.value;
        const verdict = judgeKeptMarkets(read.value, source, this.opts.clock.now(), this.opts.maxAgeMs);
        if (!verdict.use) {
          this.opts.logger?.info(`Kept markets not used (${verdict.reason}); loading them from the exchange`);
          return undefined;
        }
        return read.value;
      }
    }
  }

  /** Keeps a fresh load's markets for the next start (written in the background; failures are logged). */
  save(
    ccxtSource: Omit<MarketsSource, 'byninja'>,
    markets: KeptMarkets['markets'],
    currencies?: KeptMarkets['currencies'],
  ): void {
    if (this.closed) return;
    this.next = {
      version: 1,
      source: this.stamp(ccxtSource),
      loadedAt: this.opts.clock.now(),
      ...neededBy(this.opts.symbols, markets, currencies),
    };
    this.writing ??= this.writeNext().finally(() => (this.writing = undefined));
  }

  /** Waits for a write in progress; saves after this are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
  }

  private stamp(source: Omit<MarketsSource, 'byninja'>): MarketsSource {
    return { ...source, byninja: this.opts.appVersion };
  }

  private async writeNext(): Promise<void> {
    // one write at a time, the latest markets last
    for (let kept = this.next; kept; kept = this.next) {
      this.next = undefined;
      await this.write(kept);
    }
  }

  private async write(kept: KeptMarkets): Promise<void> {
    // off the caller's turn: the load that answered is handed back first
    await Promise.resolve();
    const disk = this.onDisk;
    // usable for a while yet: left as it is
    if (
      disk &&
      judgeKeptMarkets(disk, kept.source, kept.loadedAt, this.opts.maxAgeMs / 2).use &&
      coversSymbols(disk.markets, this.opts.symbols)
    ) {
      return;
    }
    try {
      // a temp file of a writer killed mid-write (its pid is gone) is removed first
      removeStaleTempFilesSync(this.file);
      await writeFileDurable(this.file, JSON.stringify(kept));
      this.onDisk = kept;
    } catch (err) {
      // a cache: the next start loads the markets from the exchange as it would without one
      this.opts.logger?.warn('Could not keep the markets on disk', { error: errorMessage(err) });
    }
  }
}
