/**
 * Opens the trading daemon's own files, lock first: `trading.lock` (one writer: a second live instance gets
 * LockHeldError → exit 75), the hot state Store and the history Journal.
 */
import type { Logger } from '../../shared/logging/logger';
import { Journal } from '../../shared/persistence/journal';
import type { Clock } from '../../shared/clock';
import { StoreLock } from '../../shared/persistence/lock';
import { Store } from '../../shared/persistence/store';
import {
  HISTORY_JOURNAL_NAME,
  STATE_STORE_NAME,
  STATE_VERSION,
  TRADING_STATE_MIGRATIONS,
  defaultTradingState,
  validateHistoryEntry,
  validateTradingState,
  type HistoryEntry,
  type TradingState,
} from './trading-state';

export interface TradingStateFiles {
  lock: StoreLock;
  store: Store<TradingState>;
  history: Journal<HistoryEntry>;
  /** Releases everything opened, in reverse order; idempotent per part. */
  close(): Promise<void>;
}

export async function openTradingStateFiles(
  dataDir: string,
  logger: Logger,
  clock: Clock,
): Promise<TradingStateFiles> {
  const lock = await StoreLock.acquire(dataDir, 'trading', { clock });
  try {
    const store = await Store.open<TradingState>({
      dir: dataDir,
      name: STATE_STORE_NAME,
      version: STATE_VERSION,
      defaults: defaultTradingState,
      migrations: TRADING_STATE_MIGRATIONS,
      validate: validateTradingState,
      // only risk peaks go through change(); everything about orders is committed
      debounceMs: 1000,
      logger,
    });
    const history = await Journal.open<HistoryEntry>(dataDir, HISTORY_JOURNAL_NAME, {
      logger,
      validate: validateHistoryEntry,
    });
    return {
      lock,
      store,
      history,
      close: async () => {
        await store.close().catch(() => {});
        await history.close().catch(() => {});
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release().catch(() => {});
    throw err;
  }
}
