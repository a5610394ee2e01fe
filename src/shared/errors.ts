/**
 * The one error hierarchy of ByNinja. The class decides the policy, never the message text:
 *
 * - `TemporaryError`   the world will likely fix itself (network, timeout, rate limit, exchange down):
 *                      log once, retry next tick / with backoff. `retryAfterMs` is honoured when known.
 * - `OperationalError` a person must act (bad credentials, insufficient funds, permission): alert, pause
 *                      entries, keep running.
 * - `ExchangeRefusedError` the exchange answered and refused the request (bad request, unsupported, an error
 *                      code we do not know): nothing happened on its side. On a create the order is final
 *                      (`rejected`, with a cooldown); on a read it is handled like a temporary failure.
 * - `InvalidOrderError` the exchange refused this order (precision, min notional, rejected): the order is final.
 * - `OrderNotFoundError` a lookup found no such order (used to resolve UNKNOWN creates).
 * - `StrategyError`    a strategy threw; the tick is skipped for that symbol.
 * - `IllegalTransitionError` an order status change the order life does not allow (e.g. filled → open); refused.
 * - `PersistenceError` state could not be made durable (ENOSPC, EACCES…): no new order may be placed.
 * - `CorruptStateError` a state file does not parse or fails validation; it was quarantined.
 * - `NewerStateError`  a state file a newer build wrote (a version above this build's): refused, never touched — a
 *                      `CorruptStateError` for the exit (78), not damage.
 * - `LockHeldError`    another live instance holds the store lock (exit code 75).
 * - `ConfigError`      configuration is invalid (exit code 78); carries every problem at once.
 * - `IpcError`         the internal TCP layer failed (link down, timeout, refused, protocol).
 * - `NoAnswerYetError` an action the other side did not answer in time and may still be doing (PM2 restarting a
 *                      service): never retried, never reported as failed; its `late` outcome is told when it comes.
 *
 * Every error carries a `context` object (symbol, side, amount, orderId, path, method…) that is safe to log:
 * secrets never go into messages or context.
 */

export type ErrorContext = Record<string, unknown>;

export class ByNinjaError extends Error {
  readonly context: ErrorContext;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}

export class TemporaryError extends ByNinjaError {
  /** Milliseconds the other side asked us to wait (HTTP Retry-After, Telegram retry_after), if known. */
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    context: ErrorContext = {},
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, context, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A network or timeout failure whose effect on the other side is unknown (a create may have happened). */
export class NetworkError extends TemporaryError {}
export class RateLimitError extends TemporaryError {}
export class ExchangeUnavailableError extends TemporaryError {}

export class OperationalError extends ByNinjaError {}
export class AuthenticationError extends OperationalError {}
export class PermissionDeniedError extends OperationalError {}
export class InsufficientFundsError extends OperationalError {}

export class ExchangeRefusedError extends ByNinjaError {}
export class InvalidOrderError extends ExchangeRefusedError {}
export class OrderNotFoundError extends ByNinjaError {}
export class StrategyError extends ByNinjaError {}
export class IllegalTransitionError extends ByNinjaError {}

export class PersistenceError extends ByNinjaError {
  /** The errno code (ENOSPC, EACCES, EROFS…) when the cause was a file-system error. */
  readonly code?: string;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown; code?: string }) {
    super(message, context, options);
    this.code = options?.code;
  }
}

export class CorruptStateError extends ByNinjaError {}

/**
 * A state file of a schema version above this build's (a rollback): the file is left as it is — no quarantine, no
 * blocked marker — and the service stops with exit 78 (a CorruptStateError for that) until it is upgraded again or a
 * copy this build wrote is put back.
 */
export class NewerStateError extends CorruptStateError {}
export class LockHeldError extends ByNinjaError {}

export interface ConfigProblem {
  /** Dotted path of the field, e.g. `trading.risk.stakePerTrade` or the env name `TELEGRAM_CHAT_ID`. */
  field: string;
  /** The bad value, already redacted when the field is secret. */
  value: string;
  /** What is wrong and how to fix it. */
  message: string;
}

export class ConfigError extends ByNinjaError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.field} = ${p.value}: ${p.message}`).join('\n'),
      { fields: problems.map((p) => p.field) },
    );
    this.problems = problems;
  }
}

export class IpcError extends ByNinjaError {
  /** JSON-RPC error code when the error came from the other side. */
  readonly code?: number;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown; code?: number }) {
    super(message, context, options);
    this.code = options?.code;
  }
}

/**
 * A request the other side did not answer in time while the link stayed up: unlike a link down, it may well still be
 * running there (a close-all selling), so it is never reported as "unreachable".
 */
export class IpcTimeoutError extends IpcError {
  /**
   * The answer should it still come on the same link (a request with its own answer timeout: the operator's actions);
   * rejects if the link ends first. Never rejects unhandled.
   */
  readonly late?: Promise<unknown>;

  constructor(message: string, context: ErrorContext = {}, late?: Promise<unknown>) {
    super(message, context);
    if (late) {
      late.catch(() => undefined);
      this.late = late;
    }
  }
}

/**
 * An action given up on after its deadline that may still be under way on the other side (PM2 restarting or stopping
 * a service, its daemon stuck or slow): not a failure — say "no answer yet" and tell `late` when it comes. Not a
 * TemporaryError: asking again could do the action twice.
 */
export class NoAnswerYetError extends ByNinjaError {
  /** The action's own outcome, should it still come; never rejects unhandled. */
  readonly late: Promise<unknown>;

  constructor(message: string, context: ErrorContext, late: Promise<unknown>) {
    super(message, context);
    late.catch(() => undefined);
    this.late = late;
  }
}

export function isTemporary(err: unknown): err is TemporaryError {
  return err instanceof TemporaryError;
}

export function isOperational(err: unknown): err is OperationalError {
  return err instanceof OperationalError;
}

/** Message of any thrown value, for logs (never includes a stack). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
