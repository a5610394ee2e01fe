/**
 * The client side of the internal TCP layer (telegram daemon, CLI): connect + hello, typed calls with a
 * per-request timeout, heartbeat, automatic reconnect and the resumable event stream. A thin shell over three
 * small parts: the link's state machine (link-state.ts, pure), one connection per attempt (client-connection.ts)
 * and the event stream (event-stream.ts, which holds the stream's contract).
 *
 * Link state — emitted as `'link'` once per change, never once per retry:
 *   `{ up: false, reason }` when the link is lost or the first attempt fails; `{ up: true, downtimeMs }` when it
 *   (re)connects (`downtimeMs` 0 on a first connect that never failed). Reconnects back off 100 ms → 5 s
 *   (`retryDelayMs` of shared/retry.ts, the one backoff), from the first step again after every success; the app
 *   that hears the peer is listening again (`peerReady()`: PM2 relayed trading's ready) ends the wait at once.
 *
 * `connect()` resolves when the link is up and rejects with IpcError when the attempt fails; with
 * `reconnect` (the default) the client keeps trying in the background after a failed attempt, so a daemon may
 * log the rejection and carry on, while a one-shot CLI passes `reconnect: false`.
 *
 * `call()` fails fast with IpcError while the link is down (nothing is queued), and every pending call rejects
 * with IpcError as soon as the socket drops, or with IpcTimeoutError once its timeout passes — a call never hangs.
 * A call's timeout is `requestTimeoutMs`, or longer for a method trading's hello names in `answerTimeoutsMs` (the
 * operator's actions, bounded by trading's own settings: close-all waits for busy symbols, then sells).
 *
 * With a `cursor`, the client emits `'event'` (each trading event once per process, in seq order), `'missed'` and
 * `'streamReset'`; the app records what it handled with `ack(seq)`. See event-stream.ts.
 */
import { EventEmitter } from 'node:events';
import type { CancelTimer, Clock } from '../clock';
import { errorMessage, IpcError } from '../errors';
import type { Logger } from '../logging/logger';
import { retryDelayMs, type BackoffPolicy } from '../retry';
import { ClientConnection } from './client-connection';
import { EventStream, type EventCursor, type StreamNotice } from './event-stream';
import {
  INITIAL_LINK_STATE,
  refusalOf,
  stepLink,
  unreachableReason,
  type LinkEffect,
  type LinkEvent,
  type LinkState,
  type Refusal,
} from './link-state';
import { bindAddress } from './loopback';
import { strangerOnPort } from './peer-owner';
import { PROTOCOL_VERSION, type RpcMethod, type RpcParams, type RpcResult } from './protocol';

export type { EventCursor } from './event-stream';
export type { LinkChange } from './link-state';

export interface IpcClientOptions {
  host: string;
  port: number;
  token: string;
  /** Name the server logs for this connection (`telegram`, `cli`…). */
  client: string;
  /**
   * A call without an answer after this long rejects with IpcTimeoutError (config default 5 s); a method trading's
   * hello gives a longer answer timeout waits that long.
   */
  requestTimeoutMs: number;
  /** Ping interval while connected (config default 2 s); a ping that times out drops and re-dials the link. */
  heartbeatMs: number;
  /** Re-dial after a failure or a lost link (default true). */
  reconnect?: boolean;
  logger: Logger;
  /** Time for the heartbeat, the re-dial timer and the link's downtime. */
  clock: Clock;
  /** Enables the event stream (see event-stream.ts). */
  cursor?: EventCursor;
  /** Longest line accepted from the server; default 16 MiB (the server is trusted, big lists are fine). */
  maxFrameBytes?: number;
  /** Reconnect backoff; default 100 ms → 5 s. */
  backoff?: Partial<BackoffPolicy>;
  /** Jitter source of the reconnect backoff, in [0, 1) (default Math.random); tests pin it. */
  random?: () => number;
}

type Waiter = { resolve: () => void; reject: (err: IpcError) => void };

export const DEFAULT_RECONNECT_BACKOFF: BackoffPolicy = { baseDelayMs: 100, maxDelayMs: 5_000 };
const DEFAULT_CLIENT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Methods the client drives itself; the app must not call them. */
const INTERNAL_METHODS: readonly RpcMethod[] = ['hello', 'subscribe'];

export class IpcClient extends EventEmitter {
  private readonly logger: Logger;
  private readonly host: string;
  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy & { random: () => number };
  private readonly stream: EventStream | null;
  private link: LinkState = INITIAL_LINK_STATE;
  /** The connection of the current attempt or live link; an older one's callbacks are ignored. */
  private conn: ClientConnection | null = null;
  /** When the connection dropped last is closed: close() waits for the one its own step dropped. */
  private lastDropped: Promise<void> = Promise.resolve();
  /** The stream's notices of the attempt that is about to be reported up. */
  private notices: StreamNotice[] = [];
  private waiters: Waiter[] = [];
  /** Trading's answer timeouts of the live connection (its hello answer). */
  private answerTimeouts: Partial<Record<RpcMethod, number>> = {};
  private cancelRetry: CancelTimer | null = null;
  private closing: Promise<void> | null = null;
  /** Link events are handled one at a time: an event raised while effects run (a listener) waits its turn. */
  private readonly pending: LinkEvent[] = [];
  private stepping = false;

  constructor(private readonly opts: IpcClientOptions) {
    super();
    this.logger = opts.logger.child({ module: 'ipc-client', client: opts.client });
    this.host = bindAddress(opts.host);
    this.clock = opts.clock;
    this.backoff = { ...DEFAULT_RECONNECT_BACKOFF, ...opts.backoff, random: opts.random ?? Math.random };
    this.stream = opts.cursor
      ? new EventStream(opts.cursor, (event) => this.emitSafely('event', event), this.logger)
      : null;
  }

  /**
   * Set when trading answered our last connection attempt with a refusal (too many clients, wrong token, another
   * protocol version) instead of serving us: it is alive, we are locked out. Cleared once the link is up.
   */
  get lastRefusal(): Refusal | null {
    return refusalOf(this.link);
  }

  /** true while the link is up (hello done and, with a cursor, the stream resumed). */
  get connected(): boolean {
    return this.link.kind === 'up';
  }

  /** Resolves when the link is up; rejects with IpcError if the current attempt fails (see the class doc). */
  connect(): Promise<void> {
    if (this.link.kind === 'closed') return Promise.reject(new IpcError('IPC client is closed'));
    if (this.link.kind === 'up') return Promise.resolve();
    const wait = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.step({ kind: 'connect' });
    return wait;
  }

  async call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
    if (this.link.kind === 'closed') throw new IpcError('IPC client is closed', { method });
    if (INTERNAL_METHODS.includes(method)) {
      throw new IpcError(`"${method}" is driven by the IPC client itself`, { method });
    }
    const conn = this.conn;
    if (this.link.kind !== 'up' || !conn) {
      throw new IpcError(`Trading is not reachable: ${unreachableReason(this.link)}`, {
        method,
        link: 'down',
      });
    }
    return conn.request(method, params, this.timeoutOf(method));
  }

  /**
   * Trading's answer timeout for the method (a sane one: a positive number of ms; never under requestTimeoutMs), or
   * undefined: the connection's requestTimeoutMs.
   */
  private timeoutOf(method: RpcMethod): number | undefined {
    const own = this.answerTimeouts[method];
    const sane = typeof own === 'number' && Number.isFinite(own) && own > 0;
    return sane ? Math.max(this.opts.requestTimeoutMs, Math.round(own)) : undefined;
  }

  /**
   * Record that the app has handled every event up to `seq` (→ `cursor.save`; serialised, never moves
   * backwards). Rejects when the save fails — the app should log it; a later ack saves a higher seq anyway.
   */
  ack(seq: number): Promise<void> {
    if (!this.stream) return Promise.reject(new IpcError('ack() needs a cursor'));
    return this.stream.ack(seq);
  }

  /**
   * The peer is listening now (its supervisor heard it say ready): a reconnect waiting out its backoff dials at once,
   * instead of up to the backoff's longest step later; an attempt that runs remembers it (if it fails, the next goes at
   * once: link-state.ts). Anything else is left as it is.
   */
  peerReady(): void {
    this.step({ kind: 'peer-ready' });
  }

  /** Stop for good: no reconnect, pending calls reject, socket closed. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.step({ kind: 'close' });
      // the close step drops the connection there is when it runs: at once, or — the client closed by a listener while
      // a step runs — once that step's effects ran, a re-dial among them (a ready heard during the failed attempt):
      // read after this turn, so it is the one the close dropped either way
      this.closing = Promise.resolve()
        .then(() => this.lastDropped)
        .then(() => this.stream?.settled());
    }
    return this.closing;
  }

  private step(event: LinkEvent): void {
    this.pending.push(event);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        const { state, effects } = stepLink(this.link, next, this.clock.now(), {
          reconnect: this.opts.reconnect !== false,
        });
        this.link = state;
        for (const effect of effects) this.run(effect);
      }
    } finally {
      this.stepping = false;
    }
  }

  private run(effect: LinkEffect): void {
    switch (effect.kind) {
      case 'dial':
        void this.attempt();
        return;
      case 'drop-connection': {
        const conn = this.conn;
        this.conn = null;
        this.stream?.linkLost();
        if (conn) {
          this.lastDropped = conn.closed;
          conn.end(effect.reason);
        }
        return;
      }
      case 'report':
        if (effect.change.up) this.logger.info('IPC link up', { downtimeMs: effect.change.downtimeMs });
        else this.logger.warn('IPC link down', { reason: effect.change.reason });
        this.emitSafely('link', effect.change);
        return;
      case 'go-live': {
        const notices = this.notices;
        this.notices = [];
        for (const [name, payload] of notices) this.emitSafely(name, payload);
        this.stream?.goLive();
        return;
      }
      case 'start-heartbeat':
        this.conn?.startHeartbeat(this.opts.heartbeatMs);
        return;
      case 'schedule-retry': {
        const delayMs = retryDelayMs(effect.failures, this.backoff);
        this.logger.debug('IPC reconnect scheduled', { delayMs, attempt: effect.failures });
        this.cancelRetry = this.clock.timer(delayMs, () => {
          this.cancelRetry = null;
          this.step({ kind: 'retry-due' });
        });
        return;
      }
      case 'cancel-retry':
        this.cancelRetry?.();
        this.cancelRetry = null;
        return;
      case 'settle-waiters': {
        const waiters = this.waiters;
        this.waiters = [];
        const error = effect.error;
        for (const w of waiters) {
          if (error === undefined) w.resolve();
          else w.reject(new IpcError(error, { host: this.host, port: this.opts.port }));
        }
        return;
      }
    }
  }

  /** One attempt on a new connection: dial, hello, resume the stream; its end is reported by the connection. */
  private async attempt(): Promise<void> {
    const conn: ClientConnection = new ClientConnection({
      host: this.host,
      port: this.opts.port,
      requestTimeoutMs: this.opts.requestTimeoutMs,
      maxFrameBytes: this.opts.maxFrameBytes ?? DEFAULT_CLIENT_MAX_FRAME_BYTES,
      clock: this.clock,
      logger: this.logger,
      onEvent: (event) => this.stream?.receive(event),
      onEnd: (reason, refused) => {
        if (conn === this.conn) this.step({ kind: 'lost', reason, refused });
      },
    });
    this.conn = conn;
    try {
      await conn.opened;
      // the token goes to trading only: not to another user's process squatting its port while trading is down
      const stranger = await strangerOnPort(this.opts.port, conn.localPort);
      if (stranger !== null) {
        conn.end(stranger, false);
        return;
      }
      const hello = await conn.request('hello', {
        token: this.opts.token,
        version: PROTOCOL_VERSION,
        client: this.opts.client,
      });
      if (conn === this.conn) this.answerTimeouts = hello.answerTimeoutsMs ?? {};
      let notices: StreamNotice[] = [];
      if (this.stream && conn === this.conn) {
        const afterSeq = this.stream.resumeFrom();
        const result = await conn.request('subscribe', { afterSeq });
        if (conn === this.conn) notices = this.stream.resumed(afterSeq, result);
      }
      if (conn !== this.conn) return;
      this.notices = notices;
      this.step({ kind: 'connected' });
    } catch (err) {
      // a JSON-RPC error to our hello is trading's answer (it runs), unlike a timeout or a dead socket
      conn.end(errorMessage(err), err instanceof IpcError && err.code !== undefined);
    }
  }

  /** A listener's bug must not tear down the link or break the stream. */
  private emitSafely(name: string, payload: unknown): void {
    try {
      this.emit(name, payload);
    } catch (err) {
      this.logger.error(`IPC '${name}' listener threw`, { error: errorMessage(err) });
    }
  }
}
