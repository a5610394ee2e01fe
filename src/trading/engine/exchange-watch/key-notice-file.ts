/**
 * What was told of the API key's limits, kept between runs (`trading-api-key.json` in the data dir, one entry per
 * exchange): a restart does not repeat the 14/3/1-day expiry notices or the withdrawal warning, and a start whose
 * key can no longer read its own limits (expired) still knows its end (key-limits.ts). The key appears only as its
 * fingerprint (a hash), never itself.
 *
 * Written durably (durable-file.ts) after each notice; a file that does not parse or fails its schema is set aside
 * (quarantine.ts) and ignored — the notices then go out once more, which is the safe side.
 */
import path from 'node:path';
import * as z from 'zod';
import type { Clock } from '../../../shared/clock';
import { errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import { removeStaleTempFilesSync, writeFileDurable } from '../../../shared/persistence/durable-file';
import { readJsonFile, readJsonFileSync } from '../../../shared/persistence/json-file';
import { quarantineFile } from '../../../shared/persistence/quarantine';
import type { KeyNotices } from './key-limits';

export const KEY_NOTICE_FILE = 'trading-api-key.json';

const epochMs = z.number().int().min(0);
const noticesSchema = z.looseObject({
  key: z.string().min(1),
  expiresAt: epochMs.optional(),
  expiryField: z.string().optional(),
  expiryToldDays: z.array(z.number().int().min(0)),
  expiredTold: z.boolean(),
  withdrawTold: z.boolean(),
  cannotTradeTold: z.boolean(),
  readAt: epochMs.optional(),
  spotTrade: z.boolean().optional(),
});
const fileSchema = z.looseObject({
  version: z.literal(1),
  exchanges: z.record(z.string().min(1), noticesSchema),
});
interface FileContent {
  version: 1;
  exchanges: Record<string, KeyNotices>;
}

/**
 * What the last run knew of this exchange's key (for `byninja doctor`, which does not ask the exchange): undefined
 * when there is no file, or it cannot be read or trusted (it is left as it is for trading to set aside).
 */
export function readKeyNotices(dataDir: string, exchangeId: string): KeyNotices | undefined {
  const read = readJsonFileSync(path.join(dataDir, KEY_NOTICE_FILE), {
    parse: (v) => fileSchema.parse(v),
    maxBytes: 64 * 1024,
  });
  return read.kind === 'valid' ? read.value.exchanges[exchangeId] : undefined;
}

export class KeyNoticeFile {
  readonly file: string;
  private content: FileContent = { version: 1, exchanges: {} };

  constructor(
    dataDir: string,
    private readonly exchangeId: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.file = path.join(dataDir, KEY_NOTICE_FILE);
  }

  /** This exchange's entry, or undefined (none, unreadable or set aside: logged). Never rejects. */
  async load(): Promise<KeyNotices | undefined> {
    try {
      const read = await readJsonFile(this.file, { parse: (v) => fileSchema.parse(v), maxBytes: 64 * 1024 });
      switch (read.kind) {
        case 'missing':
          return undefined;
        case 'unreadable':
          this.logger.warn('Kept API key notices unreadable; told again', { file: this.file });
          return undefined;
        case 'corrupt': {
          const aside = await quarantineFile(this.file, new Date(this.clock.now())).catch(
            (err: unknown) => `not set aside: ${errorMessage(err)}`,
          );
          this.logger.warn('Kept API key notices did not match their schema; set aside', {
            file: this.file,
            reason: read.reason,
            aside,
          });
          return undefined;
        }
        case 'valid':
          this.content = read.value;
          return read.value.exchanges[this.exchangeId];
      }
    } catch (err) {
      this.logger.warn('Kept API key notices not read; told again', { error: errorMessage(err) });
      return undefined;
    }
  }

  /** Keeps `told` as this exchange's entry (durably; a failure is logged, the notices may then repeat once). */
  async save(told: KeyNotices): Promise<void> {
    this.content = { version: 1, exchanges: { ...this.content.exchanges, [this.exchangeId]: told } };
    try {
      removeStaleTempFilesSync(this.file);
      await writeFileDurable(this.file, JSON.stringify(this.content));
    } catch (err) {
      this.logger.warn('Could not keep the API key notices on disk', { error: errorMessage(err) });
    }
  }
}
