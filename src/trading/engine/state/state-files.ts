/**
 * Opens the trading daemon's own files: the hot state Store and the history Journal. They take no lock of their
 * own: they live in the data dir, and one trading per data dir is what the service lock `trading.service.lock`
 * (taken by runService before the daemon's main runs, exit 75 for a second live instance) already guarantees; the
 * state/backup CLI commands take that same lock to make sure trading is stopped.
 */
import type { Logger } from '../../../shared/logging/logger';
import { Journal } from '../../../shared/persistence/journal';
import type { Clock } from '../../../shared/clock';
import { Store } from '../../../shared/persistence/store';
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
    clock,
  });
  try {
    const history = await Journal.open<HistoryEntry>(dataDir, HISTORY_JOURNAL_NAME, {
      logger,
      validate: validateHistoryEntry,
      // nothing counts the history: a start reads only its end (its last entries bound the clientOrderId sequence)
      countEntries: false,
    });
    return {
      store,
      history,
      close: async () => {
        await store.close().catch(() => {});
        await history.close().catch(() => {});
      },
    };
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}
