/**
 * Whether the exchange answers, as the loop reports it: the pure tracker (reachability.ts) plus its effects — one
 * `exchange.unreachable` event once an outage has lasted `unreachableAlertMs`, one `exchange.recovered` when it
 * answers again (never one per failed call), and the once-logged problems forgotten then (the next failure is news).
 * A failure that is the exchange refusing our API key (ccxt-exchange.ts keyRefusal: context `keyRefused`) is no
 * outage: it is told as that — `exchange.key_refused`, naming the settings to check — never as "unreachable"; one
 * the profile knows is the account's, its region's or the symbol's (context `accountRefused`) has the same effect and
 * event, told as the account's, never as the key's.
 */
import { formatSpan } from '../../../shared/format-span';
import type { Clock } from '../../../shared/clock';
import { ByNinjaError, errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { EventOutbox } from '../state/event-outbox';
import type { OnceLog } from '../log-once';
import { REACHABLE, afterFailure, afterSuccess, type Reachability } from './reachability';

export interface ExchangeHealthOptions {
  exchangeId: string;
  outbox: EventOutbox;
  clock: Clock;
  logger: Logger;
  onceLog: OnceLog;
  /** An outage is alerted once it has lasted this long (`trading.unreachableAlertMs`). */
  alertAfterMs: number;
}

export class ExchangeHealth {
  private state: Reachability = REACHABLE;

  constructor(private readonly opts: ExchangeHealthOptions) {}

  get reachable(): boolean {
    return this.state.since === null;
  }

  /** First failure of the current outage, or null while the exchange answers. */
  get unreachableSince(): number | null {
    return this.state.since;
  }

  /** What the exchange's latest failure said, while it fails. */
  get lastError(): string | undefined {
    return this.state.lastError;
  }

  /** The exchange's latest failure was a refusal of our API key (it answers; a person must act). */
  get keyRefused(): boolean {
    return this.state.keyRefused === true;
  }

  /** That refusal is the account's (its region's, the symbol's), not the key's: told as that. */
  get accountRefused(): boolean {
    return this.state.accountRefused === true;
  }

  /** An exchange call failed. */
  async failed(err: unknown): Promise<void> {
    const { exchangeId, outbox, clock, alertAfterMs } = this.opts;
    const now = clock.now();
    const error = errorMessage(err);
    const refused = refusalOf(err);
    const { next, alert } = afterFailure(this.state, now, error, alertAfterMs, refused);
    this.state = next;
    if (!alert) return;
    const span = formatSpan(now - next.since!);
    if (refused) {
      const what = refused === 'account' ? "the account's requests" : 'the API key';
      await outbox.emit(
        'exchange.key_refused',
        `Exchange ${exchangeId} has refused ${what} for ${span}: ${error}`,
        {
          exchange: exchangeId,
          since: next.since,
          error,
          ...(refused === 'account' ? { account: true } : {}),
        },
      );
      return;
    }
    await outbox.emit('exchange.unreachable', `Exchange ${exchangeId} unreachable for ${span}: ${error}`, {
      exchange: exchangeId,
      since: next.since,
      error,
    });
  }

  /** The exchange answered (a whole tick, or a start step, without a temporary failure). */
  async answered(): Promise<void> {
    const { exchangeId, outbox, clock, logger, onceLog } = this.opts;
    const wasDown = this.state.since !== null;
    const { next, recovered } = afterSuccess(this.state, clock.now());
    this.state = next;
    if (!wasDown) return;
    onceLog.clear();
    logger.info('Exchange reachable again');
    if (recovered !== null) {
      await outbox.emit(
        'exchange.recovered',
        `Exchange ${exchangeId} reachable again after ${formatSpan(recovered)}`,
        { exchange: exchangeId, downMs: recovered },
      );
    }
  }
}

/** An error the exchange adapter named as a refusal of our API key (ccxt-exchange.ts keyRefusal). */
export function isKeyRefusal(err: unknown): boolean {
  return err instanceof ByNinjaError && err.context.keyRefused === true;
}

/** Whose refusal an error is (pure): the key's, the account's (`accountRefused`: not the key), or none. */
export function refusalOf(err: unknown): 'key' | 'account' | undefined {
  if (!isKeyRefusal(err)) return undefined;
  return (err as ByNinjaError).context.accountRefused === true ? 'account' : 'key';
}
