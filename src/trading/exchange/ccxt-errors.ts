/**
 * The one table that turns ccxt errors into ByNinja's errors (shared/errors.ts). The class decides the
 * engine's policy: temporary → retry (next tick, or with backoff); operational → alert and pause entries;
 * refused (the exchange answered "no": bad request, invalid order, unsupported…) → a create is final
 * (`rejected`, cooldown), a read is retried like a temporary failure; not found → lookups.
 *
 * Every class ccxt exports has an explicit entry (a test walks ccxt's classes and checks it). A class a later
 * ccxt adds falls to its nearest listed ancestor, because classes are matched along the prototype chain, most
 * derived first — and they are matched by name, not `instanceof`: the per-exchange ESM build and the full
 * CommonJS bundle each have their own copies of the classes. The translated error keeps the ccxt class name in
 * `context.ccxtError`, so an unexpected one is logged with its name, and the HTTP status and the exchange's own
 * error code when the adapter recorded them (`httpStatus`, `exchangeCode`).
 *
 * Whether a failed create may have placed the order is NOT decided here (an HTTP 5xx can carry any class, and
 * Bybit answers "Order creation timeout" with HTTP 200 and a class ccxt calls InvalidOrder): see `createFailure`
 * in ccxt-exchange.ts.
 *
 * ccxt puts the full request URL in some messages, and a signed URL carries the signature, timestamp and
 * sometimes the API key in its query string: every message is scrubbed before it leaves this file.
 */
import {
  AuthenticationError,
  ExchangeRefusedError,
  ExchangeUnavailableError,
  InsufficientFundsError,
  InvalidOrderError,
  NetworkError,
  OperationalError,
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
  // temporary — network, timeouts, rate limits, exchange down, clock skew
  BaseError: temporary(NetworkError), // only a bare BaseError lands here: its outcome is unknown
  OperationFailed: temporary(NetworkError),
  NetworkError: temporary(NetworkError),
  RequestTimeout: temporary(NetworkError),
  BadResponse: temporary(NetworkError),
  NullResponse: temporary(NetworkError),
  ChecksumError: temporary(NetworkError),
  DDoSProtection: temporary(RateLimitError),
  RateLimitExceeded: temporary(RateLimitError),
  ExchangeNotAvailable: temporary(ExchangeUnavailableError),
  OnMaintenance: temporary(ExchangeUnavailableError),
  InvalidNonce: temporary(TemporaryError), // timestamp outside recvWindow: the request was refused, retry
  CancelPending: temporary(TemporaryError),
  // operational — a person must act
  AuthenticationError: plain(AuthenticationError),
  PermissionDenied: plain(PermissionDeniedError),
  AccountNotEnabled: plain(PermissionDeniedError),
  AccountSuspended: plain(PermissionDeniedError),
  RestrictedLocation: plain(PermissionDeniedError),
  ManualInteractionNeeded: plain(OperationalError),
  ExchangeClosedByUser: plain(OperationalError),
  InvalidProxySettings: plain(OperationalError),
  InsufficientFunds: plain(InsufficientFundsError),
  // the exchange refused this order
  InvalidOrder: plain(InvalidOrderError),
  OrderNotFillable: plain(InvalidOrderError),
  OrderImmediatelyFillable: plain(InvalidOrderError),
  DuplicateOrderId: plain(InvalidOrderError), // the order EXISTS: see ccxt-exchange.ts createOrder
  ContractUnavailable: plain(InvalidOrderError),
  MarketClosed: plain(InvalidOrderError),
  BadSymbol: plain(InvalidOrderError),
  // the exchange refused the request (e.g. Binance -1013 "Filter failure: NOTIONAL" arrives as BadRequest)
  ExchangeError: plain(ExchangeRefusedError), // an error code ccxt does not know
  BadRequest: plain(ExchangeRefusedError),
  ArgumentsRequired: plain(ExchangeRefusedError),
  NotSupported: plain(ExchangeRefusedError),
  OperationRejected: plain(ExchangeRefusedError),
  NoChange: plain(ExchangeRefusedError),
  MarginModeAlreadySet: plain(ExchangeRefusedError),
  InvalidAddress: plain(ExchangeRefusedError),
  AddressPending: plain(ExchangeRefusedError),
  UnsubscribeError: plain(ExchangeRefusedError),
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
  /** Shortens ccxt's message (`<id> <answer body>`) to what the answer means (see `errorBodySummary`). */
  summarize?: (message: string) => string;
}

/** Where an exchange's error answer carries its code and message: dotted paths into the JSON body. */
export interface ErrorBodyFields {
  code: string;
  message: string;
}

/**
 * The exchange's code and message in a ccxt message of the form `<exchangeId> <JSON body>`: from the first of `fields`
 * whose code is set and not a success ("0") — OKX's per-order `data.0.sCode` before its `code` "1" — or undefined.
 */
export function errorBodyCode(
  exchangeId: string,
  fields: readonly ErrorBodyFields[],
): (message: string) => { code: string; text: string } | undefined {
  const at = (body: unknown, dotted: string): unknown =>
    dotted
      .split('.')
      .reduce<unknown>(
        (v, key) =>
          v !== null && typeof v === 'object' && Object.hasOwn(v, key)
            ? (v as Record<string, unknown>)[key]
            : undefined,
        body,
      );
  return (message) => {
    const prefix = `${exchangeId} `;
    if (!message.startsWith(prefix)) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(message.slice(prefix.length));
    } catch {
      return undefined;
    }
    for (const f of fields) {
      const code = at(body, f.code);
      if (
        (typeof code === 'string' || typeof code === 'number') &&
        String(code) !== '' &&
        String(code) !== '0'
      ) {
        const text = at(body, f.message);
        return { code: String(code), text: typeof text === 'string' ? text : '' };
      }
    }
    return undefined;
  };
}

/**
 * A summarizer for ccxt messages of the form `<exchangeId> <JSON body>`: `<exchangeId> <code>: <message>` from the
 * first of `fields` whose code is set and not a success ("0") (errorBodyCode). The body's echoes of the request (ids,
 * times) go, so the same refusal reads the same every time. Any other message is kept as it is.
 */
export function errorBodySummary(
  exchangeId: string,
  fields: readonly ErrorBodyFields[],
): (message: string) => string {
  const codeOf = errorBodyCode(exchangeId, fields);
  return (message) => {
    const found = codeOf(message);
    return found ? `${exchangeId} ${found.code}: ${found.text}`.trimEnd() : message;
  };
}

/**
 * Matches a message `errorBodySummary` wrote of an answer with one of `codes`: `<exchangeId> <code>: …` — the text the
 * state keeps of a refused create, so that a refusal is read by its code after a restart too.
 */
export function summaryCodePattern(exchangeId: string, codes: readonly string[]): RegExp {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escape(exchangeId)} (?:${codes.map(escape).join('|')}):`);
}

/**
 * The project error for a ccxt error. Anything not thrown by ccxt (our own errors, bugs) passes through.
 * The original error is NOT kept as `cause`: its message and stack may hold the signed URL.
 */
export function translateCcxtError(err: unknown, options: TranslateOptions = {}): Error {
  if (!isCcxtError(err)) return err instanceof Error ? err : new Error(String(err));
  const names = classNames(err as object);
  const raw = (err as Error).message ?? '';
  const message = scrubMessage(options.summarize ? options.summarize(raw) : raw, options.secrets);
  const { httpStatus, exchangeCode } = err as { httpStatus?: unknown; exchangeCode?: unknown };
  const context: ErrorContext = {
    ...options.context,
    ccxtError: names[0],
    ...(typeof httpStatus === 'number' ? { httpStatus } : {}),
    ...(typeof exchangeCode === 'string' ? { exchangeCode } : {}),
  };
  // BaseError is in the table, so every ccxt error finds an entry
  const name = names.find((n) => CCXT_ERROR_TABLE[n] !== undefined) ?? 'BaseError';
  return CCXT_ERROR_TABLE[name](message, context, options.retryAfterMs);
}
