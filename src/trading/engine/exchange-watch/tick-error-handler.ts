/**
 * The thin shell of the loop's error policy (tick-errors.ts `tickErrorAction` decides): logs what the action says,
 * tells the exchange's health of a temporary failure, pauses entries on an operational one, and keeps an unknown
 * error (a bug) to be thrown out of the tick — even one that comes after the tick moved on (a symbol's work that
 * outlasted its tick). "Reachable" is a whole tick without a temporary exchange error (`temporaryThisTick`).
 */
import { errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { ExchangeHealth } from './exchange-health';
import type { OnceLog } from '../log-once';
import { tickErrorAction } from './tick-errors';
import type { PauseSource, PauseState } from '../state/trading-state';

export interface TickErrorHandlerOptions {
  logger: Logger;
  onceLog: OnceLog;
  health: Pick<ExchangeHealth, 'failed'>;
  pauseEntries: (
    reason: string,
    by: PauseSource,
    takeOver: boolean,
    clientOrderId?: string,
  ) => Promise<PauseState>;
}

export class TickErrorHandler {
  private temporary = false;
  /** An unknown error from a symbol's work: the loop stops with it (the process exits 1). */
  private fatal: unknown;

  constructor(private readonly opts: TickErrorHandlerOptions) {}

  /** A temporary exchange error happened since `beginTick`. */
  get temporaryThisTick(): boolean {
    return this.temporary;
  }

  /** A tick starts: a bug kept from earlier work is thrown now. */
  beginTick(): void {
    this.throwIfFatal();
    this.temporary = false;
  }

  /** An error from a tick's work, handled by its class (tick-errors.ts); a bug is thrown. */
  async handle(where: string, err: unknown): Promise<void> {
    const action = tickErrorAction(where, err);
    switch (action.handling) {
      case 'retry':
        this.temporary = true;
        this.opts.onceLog.log(action.log.key, action.log.level, action.log.message, action.log.fields);
        await this.opts.health.failed(err);
        return;
      case 'skip-symbol':
      case 'hold-orders':
        this.opts.onceLog.log(action.log.key, action.log.level, action.log.message, action.log.fields);
        return;
      case 'pause-entries':
        // once per cause: the same refusal at every tick (a refused key) is one line; its symbol or place aside
        this.opts.onceLog.log(action.log.key, action.log.level, action.log.message, action.log.fields, {
          sameAs: action.log.key,
        });
        try {
          // an order the exchange no longer shows that could not be settled: that cause holds until it is
          await this.opts.pauseEntries(action.reason, 'operational', false, action.clientOrderId);
        } catch (pauseErr) {
          this.opts.logger.error('Could not persist the pause', { error: errorMessage(pauseErr) });
        }
        return;
      case 'fatal':
        throw err;
    }
  }

  /** Keeps the first unknown error (a bug) from work the tick no longer waits for. */
  keep(err: unknown): void {
    this.fatal ??= err;
  }

  throwIfFatal(): void {
    if (this.fatal !== undefined) throw this.fatal;
  }
}
