/**
 * The one table that turns ccxt errors into ByNinja's errors (shared/errors.ts). The class decides the
 * engine's policy: temporary → retry next tick; operational → alert and pause entries; invalid order → final;
 * anything not in the table → a plain Error, which the engine treats as a bug (exit 1, PM2 restarts).
 *
 * ccxt classes are matched by name along the prototype chain (most specific first), not by `instanceof`:
 * the per-exchange ESM build and the full CommonJS bundle each have their own copies of the classes.
 *
 * ccxt puts the full request URL in some messages, and a signed URL carries the signature, timestamp and
 * sometimes the API key in its query string: every message is scrubbed before it leaves this file.
 */
import {
  AuthenticationError,
  ExchangeUnavailableError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OrderNotFoundError,
  PermissionDeniedError,
  RateLimitError,
  TemporaryError,
  type ByNinjaError,
  type ErrorContext,
} from '../../shared/errors';

type Translate = (message: string, context: ErrorContext, retryAfterMs?: number) => ByNinjaError;

const temporary =
  (Ctor: typeof TemporaryError): Translate =>
  (message, context, retryAfterMs) =>
    new Ctor(message, context, { retryAfterMs });

const plain =
  (Ctor: new (message: string, context: ErrorContext) => ByNinjaError): Translate =>
  (message, context) =>
    new Ctor(message, context);

/** ccxt class name → project error. Order does not matter: the most derived class of the error wins. */
export const CCXT_ERROR_TABLE: Readonly<Record<string, Translate>> = {
  // temporary — network, timeouts, rate limits, exchange down
  RequestTimeout: temporary(NetworkError),
  NetworkError: temporary(NetworkError),
  OperationFailed: temporary(NetworkError),
  BadResponse: temporary(NetworkError),
  NullResponse: temporary(NetworkError),
  DDoSProtection: temporary(RateLimitError),
  RateLimitExceeded: temporary(RateLimitError),
  ExchangeNotAvailable: temporary(ExchangeUnavailableError),
  OnMaintenance: temporary(ExchangeUnavailableError),
  InvalidNonce: temporary(TemporaryError),
  CancelPending: temporary(TemporaryError),
  // operational — a person must act
  AuthenticationError: plain(AuthenticationError),
  PermissionDenied: plain(PermissionDeniedError),
  AccountNotEnabled: plain(PermissionDeniedError),
  AccountSuspended: plain(PermissionDeniedError),
  RestrictedLocation: plain(PermissionDeniedError),
  InsufficientFunds: plain(InsufficientFundsError),
  // the exchange refused this order
  InvalidOrder: plain(InvalidOrderError),
  OrderNotFillable: plain(InvalidOrderError),
  OrderImmediatelyFillable: plain(InvalidOrderError),
  DuplicateOrderId: plain(InvalidOrderError),
  ContractUnavailable: plain(InvalidOrderError),
  MarketClosed: plain(InvalidOrderError),
  BadSymbol: plain(InvalidOrderError),
  // lookups
  OrderNotFound: plain(OrderNotFoundError),
  OrderNotCached: plain(OrderNotFoundError),
};

/** Secret values to scrub from messages besides URL query strings. */
export type SecretValues = Array<string | undefined>;

/** Removes query strings of URLs, signature/key parameters and any literal secret from a message. */
export function scrubMessage(message: string, secrets: SecretValues = []): string {
  let text = message.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#"']*)\?[^\s"']*/gi, '$1?[query removed]');
  text = text.replace(
    /\b(signature|sign|apikey|api_key|api-key|key|secret|passphrase|password|token)=[^&\s"']+/gi,
    '$1=[redacted]',
  );
  for (const secret of secrets) {
    if (secret && secret.length >= 4) text = text.split(secret).join('[redacted]');
  }
  return text;
}

/** Names of an error's classes, most derived first (`RequestTimeout`, `NetworkError`, `OperationFailed`, …). */
function classNames(err: object): string[] {
  const names: string[] = [];
  for (
    let proto = Object.getPrototypeOf(err);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = (proto.constructor as { name?: string } | undefined)?.name;
    if (name) names.push(name);
  }
  return names;
}

/** Whether `err` is an error thrown by ccxt (its classes all derive from ccxt's BaseError). */
export function isCcxtError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && classNames(err).includes('BaseError');
}

export interface TranslateOptions {
  context?: ErrorContext;
  secrets?: SecretValues;
  /** Wait the exchange asked for (Retry-After), attached to temporary errors. */
  retryAfterMs?: number;
}

/**
 * The project error for a ccxt error. Anything not thrown by ccxt (our own errors, bugs) passes through.
 * The original error is NOT kept as `cause`: its message and stack may hold the signed URL.
 */
export function translateCcxtError(err: unknown, options: TranslateOptions = {}): Error {
  if (!isCcxtError(err)) return err instanceof Error ? err : new Error(String(err));
  const names = classNames(err as object);
  const message = scrubMessage((err as Error).message ?? '', options.secrets);
  for (const name of names) {
    const translate = CCXT_ERROR_TABLE[name];
    if (translate)
      return translate(message, { ...options.context, ccxtError: names[0] }, options.retryAfterMs);
  }
  const unknown = new Error(`unexpected exchange error ${names[0]}: ${message}`);
  unknown.name = `Ccxt${names[0]}`;
  return unknown;
}
