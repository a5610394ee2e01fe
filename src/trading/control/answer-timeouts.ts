/**
 * How long a client should wait for the operator's actions, which take longer than a request: trading sends these
 * in its hello answer (protocol.ts `answerTimeoutsMs`), and telegram's bot and the CLI wait that long for those
 * methods (ipc.requestTimeoutMs for the others). Each is the sum of the deadlines that bound the action's steps, so
 * it follows the settings: a client giving up sooner would say "no answer" while trading is still working — a
 * close-all selling, the operator invited to press /closeall again. Every action first waits for the tick in
 * progress (loop-turns.ts: ticks and actions take turns). Pure.
 */
import type { TradingConfig } from '../../shared/config/schema';
import type { RpcMethod } from '../../shared/ipc/protocol';
import { SETTLE_LOOKUPS } from '../engine/operator/close-all';
import { RECONCILE_BUDGET_READS } from '../engine/operator/operator-actions';

/**
 * A tick's waits at most, each the read deadline: the account's reads, its symbols' work side by side, the
 * never-placed recheck (trading-loop.ts). A markets reload (once a day) may add ccxt's own timeout.
 */
const TICK_READS = 3;
/** Reads the settle asks for (order-recheck.ts findOnExchange: the order by its client id, then the open orders). */
const SETTLE_READS = 2;
/**
 * The report folds the history journal, read in pages off the tick (read-report.ts): bounded by the disk, not by a
 * setting. A minute is room for years of history on a slow disk.
 */
const REPORT_ANSWER_MS = 60_000;

export function answerTimeoutsMs(trading: TradingConfig['trading']): Partial<Record<RpcMethod, number>> {
  const read = trading.symbolReadTimeoutMs;
  const create = trading.orders.createTimeoutMs;
  const symbols = trading.symbols.length;
  const tick = TICK_READS * read;
  return {
    // the busy symbols' wait, a cancel per symbol, the balance, then per position its ticker, its sell and the
    // sell's lookups (close-all.ts; one piece per position: a position past the exchange's largest market order
    // takes more)
    closeAll: tick + read + symbols * read + read + symbols * (read + create + SETTLE_LOOKUPS * read),
    // the busy symbol's wait, then the order looked up again (operator-settle.ts)
    settleOrder: tick + read + SETTLE_READS * read,
    // the busy symbol's wait, the markets read again (operator-actions.ts), then one commit (operator-write-off.ts)
    writeOff: tick + read + read,
    // every lane free (a create in flight answers within its timeout), then the reads' budget (operator-actions.ts)
    reconcile: tick + create + RECONCILE_BUDGET_READS * read,
    report: REPORT_ANSWER_MS,
  };
}
