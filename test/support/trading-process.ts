/**
 * The trading test daemon (the shipped composition with test-only crash points and faults available, bundled like
 * the daemon PM2 runs: harness/daemons/trading.ts) as a child process on a fast paper market by default: for
 * tests that kill it, restart it and read what it left on disk. `env` overrides anything.
 */
import type { CrashStep } from '../../harness/faults/crash-points';
import { TEST_DAEMON_SCRIPTS } from '../../harness/pm2';
import { TradingDaemon, daemonEnv } from './trading-daemon';

/** The IPC token every TradingProcess uses. */
export const TRADING_PROCESS_TOKEN = 'crash-test-token-0123456789abcdef';

export class TradingProcess extends TradingDaemon {
  constructor(root: string, port: number, crashAt?: CrashStep, extraEnv: NodeJS.ProcessEnv = {}) {
    super(
      root,
      daemonEnv(root, port, {
        BYNINJA_IPC_TOKEN: TRADING_PROCESS_TOKEN,
        BYNINJA__APP__BOT_ID: 'crash',
        BYNINJA__TRADING__PAPER__CANDLE_MS: '100',
        BYNINJA__TRADING__TICK_INTERVAL_MS: '50',
        // a strategy that trades at once, in and out: every crash step is reached within a second
        BYNINJA__TRADING__STRATEGY__NAME: 'rsi-mean-reversion',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__PERIOD: '3',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERSOLD: '55',
        BYNINJA__TRADING__STRATEGY__RSI_MEAN_REVERSION__OVERBOUGHT: '56',
        BYNINJA__TRADING__ORDERS__UNKNOWN_NOT_FOUND_WINDOW_MS: '300',
        BYNINJA_LOG_LEVEL: 'info',
        ...(crashAt ? { BYNINJA_TEST_CRASH_AT: crashAt } : {}),
        ...extraEnv,
      }),
      TEST_DAEMON_SCRIPTS.trading,
    );
  }
}
