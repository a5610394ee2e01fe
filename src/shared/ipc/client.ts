/**
 * The client side of the internal TCP layer (telegram daemon, CLI): connect + hello, typed calls with a
 * per-request timeout, heartbeat, automatic reconnect and the resumable event stream.
 *
 * Link state — emitted as `'link'` once per change, never once per retry:
 *   `{ up: false, reason }` when the link is lost or the first attempt fails; `{ up: true, downtimeMs }` when it
 *   (re)connects (`downtimeMs` 0 on a first connect that never failed). Reconnects back off 100 ms → 5 s with jitter.
 *
 * `connect()` resolves when the link is up and rejects with IpcError when the attempt fails; with
 * `reconnect` (the default) the client keeps trying in the background after a failed attempt, so a daemon may
 * log the rejection and carry on, while a one-shot CLI passes `reconnect: false`.
 *
 * `call()` fails fast with IpcError while the link is down (nothing is queued), and every pending call rejects
 * with IpcError as soon as the socket drops or its `requestTimeoutMs` passes — a call never hangs.
 *
 * Event stream contract (with `cursor`): AT LEAST ONCE, deduplicated by seq.
 *   - On every (re)connect the client subscribes from `cursor.load()` — the app's durable last-handled seq.
 *   - It emits `'event'` for each event in seq order, skipping any seq ≤ the last one it emitted in this process
 *     (replays after a reconnect overlap what was already emitted).
 *   - The app handles the event (e.g. puts the notification in its durable outbox), THEN records it with
 *     `ack(seq)` (→ `cursor.save`). A crash between emit and ack replays that event after restart: the app
 *     must tolerate seeing an event twice across a restart (dedup by seq in its own state if that matters).
 *   - `'missed'` `{ count, afterSeq }`: events after the cursor were already trimmed on the server (lost).
 *   - `'streamReset'` `{ afterSeq, lastSeq }`: the server's log is behind the cursor (its data was reset);
 *     the dedup floor drops to 0 and everything the server has is delivered.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  createJSONRPCErrorResponse,
  isJSONRPCResponse,
  JSONRPCClient,
  JSONRPCErrorException,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import { errorMessage, IpcError } from '../errors';
import type { Logger } from '../logging/logger';
import { encodeFrame, LineDecoder } from './framing';
import { bindAddress } from './loopback';
import {
  PROTOCOL_VERSION,
  type RpcMethod,
  type RpcParams,
  type RpcResult,
  type TradingEvent,
} from './protocol';
import { DEFAULT_RECONNECT_BACKOFF, reconnectDelayMs, type BackoffPolicy } from './reconnect-backoff';

/** The app's durable record of the last event it has handled. */
export interface EventCursor {
  load(): number;
  save(seq: number): Promise<void>;
}

export interface IpcClientOptions {
  host: string;
  port: number;
  token: string;
  /** Name the server logs for this connection (`telegram`, `cli`…). */
  client: string;
  /** A call without an answer after this long rejects with IpcError (config default 5 s). */
  requestTimeoutMs: number;
  /** Ping interval while connected (config default 2 s); a ping that times out drops and re-dials the link. */
  heartbeatMs: number;
  /** Re-dial after a failure or a lost link (default true). */
  reconnect?: boolean;
  logger: Logger;
  /** Enables the event stream (see the contract above). */
  cursor?: EventCursor;
  /** Longest line accepted from the server; default 16 MiB (the server is trusted, big lists are fine). */
  maxFrameBytes?: number;
  /** Reconnect backoff; default 100 ms → 5 s. */
  backoff?: Partial<BackoffPolicy>;
}

export interface LinkChange {
  up: boolean;
  /** Why the link went down (up: false). */
  reason?: string;
  /** How long the link was down (up: true). */
  downtimeMs?: number;
}

type Waiter = { resolve: () => void; reject: (err: IpcError) => void };

const DEFAULT_CLIENT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Methods the client drives itself; the app must not call them. */
const INTERNAL_METHODS: readonly RpcMethod[] = ['hello', 'subscribe'];

export class IpcClient extends EventEmitter {
  private readonly logger: Logger;
  private readonly host: string;
  private readonly backoff: BackoffPolicy;
  private readonly rpc: JSONRPCClient;
  private readonly timedRpc: ReturnType<JSONRPCClient['timeout']>;
  private socket: net.Socket | null = null;
  /** Bumped for each socket; callbacks of an older socket are ignored. */
  private generation = 0;
  private attemptRunning = false;
  private linkUp = false;
  private state: 'unknown' | 'up' | 'down' = 'unknown';
  private downSince = 0;
  private lastDownReason = 'not connected yet';
  private serverNotice: string | null = null;
  private refusal: { at: number; reason: string } | null = null;
  private failures = 0;
  private waiters: Waiter[] = [];
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private pingInFlight = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Dedup floor: highest seq emitted (or the cursor at subscribe time). */
  private lastDelivered = 0;
  private subscribing = false;
  private held: TradingEvent[] = [];
  private lastAcked = 0;
  private ackChain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: IpcClientOptions) {
    super();
    this.logger = opts.logger.child({ module: 'ipc-client', client: opts.client });
    this.host = bindAddress(opts.host);
    this.backoff = { ...DEFAULT_RECONNECT_BACKOFF, ...opts.backoff };
    this.rpc = new JSONRPCClient((payload: unknown) => this.sendPayload(payload));
    // built once, not per call (it is on the path of every request; the per-request timer stays)
    const timeoutMs = this.opts.requestTimeoutMs;
    this.timedRpc = this.rpc.timeout(timeoutMs, (id) =>
      createJSONRPCErrorResponse(id, 0, `no answer within ${timeoutMs} ms`),
    );
  }

  /**
   * Set when trading answered our last connection attempt with a refusal (too many clients, wrong token, another
   * protocol version) instead of serving us: it is alive, we are locked out. Cleared once the link is up.
   */
  get lastRefusal(): { at: number; reason: string } | null {
    return this.refusal;
  }

  /** true while the link is up (hello done and, with a cursor, the stream resumed). */
  get connected(): boolean {
    return this.linkUp;
  }

  /** Resolves when the link is up; rejects with IpcError if the current attempt fails (see the class doc). */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new IpcError('IPC client is closed'));
    if (this.linkUp) return Promise.resolve();
    const wait = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.attemptRunning && !this.reconnectTimer) void this.attempt();
    return wait;
  }

  async call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
    if (this.closed) throw new IpcError('IPC client is closed', { method });
    if (INTERNAL_METHODS.includes(method)) {
      throw new IpcError(`"${method}" is driven by the IPC client itself`, { method });
    }
    if (!this.linkUp) {
      throw new IpcError(`Trading is not reachable: ${this.lastDownReason}`, { method, link: 'down' });
    }
    return this.request(method, params);
  }

  /**
   * Record that the app has handled every event up to `seq` (→ `cursor.save`; serialised, never moves
   * backwards). Rejects when the save fails — the app should log it; a later ack saves a higher seq anyway.
   */
  ack(seq: number): Promise<void> {
    const cursor = this.opts.cursor;
    if (!cursor) return Promise.reject(new IpcError('ack() needs a cursor'));
    const saved = this.ackChain.then(async () => {
      if (seq <= this.lastAcked) return;
      await cursor.save(seq);
      this.lastAcked = seq;
    });
    // One failed save must not poison every later ack.
    this.ackChain = saved.catch(() => undefined);
    return saved;
  }

  /** Stop for good: no reconnect, pending calls reject, socket closed. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.generation++;
      this.stopTimers();
      this.linkUp = false;
      this.rpc.rejectAllPendingRequests('IPC client closed');
      this.rejectWaiters(new IpcError('IPC client closed'));
      const socket = this.socket;
      this.socket = null;
      this.closing = new Promise<void>((resolve) => {
        if (!socket || socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.destroy();
      }).then(() => this.ackChain);
    }
    return this.closing;
  }

  private async attempt(): Promise<void> {
    this.reconnectTimer = null;
    if (this.closed) return;
    this.attemptRunning = true;
    const gen = ++this.generation;
    this.serverNotice = null;
    try {
      await this.dial(gen);
      await this.request('hello', {
        token: this.opts.token,
        version: PROTOCOL_VERSION,
        client: this.opts.client,
      });
      if (gen !== this.generation) return;
      const notices = this.opts.cursor ? await this.resumeStream(gen) : [];
      if (gen !== this.generation) return;
      this.failures = 0;
      this.linkUp = true;
      this.markUp();
      for (const [name, payload] of notices) this.emitSafely(name, payload);
      this.startHeartbeat(gen);
      this.releaseHeld();
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.resolve();
    } catch (err) {
      // a JSON-RPC error to our hello is trading's answer (it runs), unlike a timeout or a dead socket
      if (err instanceof IpcError && err.code !== undefined && gen === this.generation)
        this.refusal = { at: Date.now(), reason: err.message };
      this.fail(gen, errorMessage(err));
    } finally {
      this.attemptRunning = false;
    }
  }

  private dial(gen: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.opts.port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.setTimeout(this.opts.requestTimeoutMs);
      const decoder = new LineDecoder(this.opts.maxFrameBytes ?? DEFAULT_CLIENT_MAX_FRAME_BYTES);
      let lastError: Error | null = null;
      socket.once('connect', () => {
        socket.setTimeout(0);
        resolve();
      });
      socket.once('timeout', () =>
        socket.destroy(new Error(`connect timed out after ${this.opts.requestTimeoutMs} ms`)),
      );
      socket.on('data', (chunk: Buffer) => this.onData(gen, decoder, chunk));
      socket.on('error', (err) => {
        lastError = err;
      });
      socket.on('close', () => {
        const reason = lastError ? describeSocketError(lastError) : 'connection closed by trading';
        reject(new IpcError(reason));
        this.fail(gen, reason);
      });
    });
  }

  /** Subscribe from the cursor; returns the stream notices to emit once the link is reported up. */
  private async resumeStream(gen: number): Promise<Array<[string, unknown]>> {
    const afterSeq = this.opts.cursor!.load();
    this.subscribing = true;
    this.held = [];
    const result = await this.request('subscribe', { afterSeq });
    const notices: Array<[string, unknown]> = [];
    if (gen !== this.generation) return notices;
    if (result.streamReset) {
      this.logger.error('Trading event log is behind our cursor (its data was reset): replaying all it has', {
        afterSeq,
        lastSeq: result.lastSeq,
      });
      this.lastDelivered = 0;
      this.lastAcked = 0;
      notices.push(['streamReset', { afterSeq, lastSeq: result.lastSeq }]);
    } else {
      this.lastDelivered = Math.max(this.lastDelivered, afterSeq);
    }
    if (result.missed > 0) {
      this.logger.warn('Trading events were trimmed before we could read them', {
        missed: result.missed,
        afterSeq,
      });
      notices.push(['missed', { count: result.missed, afterSeq }]);
    }
    return notices;
  }

  /** Deliver the replay held back while `subscribe` was pending, then go live. */
  private releaseHeld(): void {
    this.subscribing = false;
    const held = this.held;
    this.held = [];
    for (const event of held) this.deliver(event);
  }

  private onData(gen: number, decoder: LineDecoder, chunk: Buffer): void {
    if (gen !== this.generation) return;
    const { lines, tooLarge } = decoder.push(chunk);
    for (const line of lines) {
      if (gen !== this.generation) return;
      this.onLine(line);
    }
    if (tooLarge) this.fail(gen, 'frame from trading exceeds the size limit');
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.logger.warn('Ignoring a line from trading that is not JSON', { bytes: line.length });
      return;
    }
    if (msg === null || typeof msg !== 'object') return;
    if (isJSONRPCResponse(msg)) {
      const response = msg as JSONRPCResponse;
      if (response.id === null && response.error) {
        // An error not tied to a request (too many clients, frame too large): the server closes next.
        this.serverNotice = `${response.error.message} (code ${response.error.code})`;
        this.logger.warn('Trading refused the connection', {
          code: response.error.code,
          error: response.error.message,
        });
        return;
      }
      this.rpc.receive(response);
      return;
    }
    const m = msg as { method?: unknown; params?: unknown };
    if (m.method === 'event' && isEvent(m.params)) {
      if (this.subscribing) this.held.push(m.params);
      else this.deliver(m.params);
    }
  }

  private deliver(event: TradingEvent): void {
    if (event.seq <= this.lastDelivered) return;
    this.lastDelivered = event.seq;
    this.emitSafely('event', event);
  }

  private async request<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
    try {
      return (await this.timedRpc.request(method, params)) as RpcResult<M>;
    } catch (err) {
      throw toIpcError(method, err);
    }
  }

  private sendPayload(payload: unknown): void {
    const socket = this.socket;
    if (!socket || socket.destroyed || !socket.writable) throw new Error('not connected');
    socket.write(encodeFrame(payload));
  }

  private startHeartbeat(gen: number): void {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      if (gen !== this.generation || !this.linkUp || this.pingInFlight) return;
      this.pingInFlight = true;
      this.request('ping', {})
        .catch((err: unknown) => {
          // A JSON-RPC error still proves the link works; only a local failure (timeout) means it is dead.
          if (err instanceof IpcError && err.code === undefined)
            this.fail(gen, `heartbeat failed: ${err.message}`);
        })
        .finally(() => {
          this.pingInFlight = false;
        });
    }, this.opts.heartbeatMs);
  }

  /** The current socket failed (idempotent per socket): reject its calls, report down, maybe re-dial. */
  private fail(gen: number, reason: string): void {
    if (gen !== this.generation || this.closed) return;
    this.generation++;
    const why = this.serverNotice ?? reason;
    if (this.serverNotice !== null) this.refusal = { at: Date.now(), reason: this.serverNotice };
    this.serverNotice = null;
    this.lastDownReason = why;
    this.linkUp = false;
    this.subscribing = false;
    this.held = [];
    this.stopHeartbeat();
    this.socket?.destroy();
    this.socket = null;
    this.rpc.rejectAllPendingRequests(`IPC link down: ${why}`);
    this.markDown(why);
    this.rejectWaiters(
      new IpcError(`Cannot reach trading: ${why}`, { host: this.host, port: this.opts.port }),
    );
    if (this.opts.reconnect === false) return;
    const delay = reconnectDelayMs(this.failures++, Math.random(), this.backoff);
    this.logger.debug('IPC reconnect scheduled', { delayMs: delay, attempt: this.failures });
    this.reconnectTimer = setTimeout(() => void this.attempt(), delay);
  }

  private markDown(reason: string): void {
    if (this.state === 'down') return;
    this.state = 'down';
    this.downSince = Date.now();
    this.logger.warn('IPC link down', { reason });
    this.emitLink({ up: false, reason });
  }

  private markUp(): void {
    if (this.state === 'up') return;
    const downtimeMs = this.state === 'down' ? Date.now() - this.downSince : 0;
    this.state = 'up';
    this.refusal = null;
    this.logger.info('IPC link up', { downtimeMs });
    this.emitLink({ up: true, downtimeMs });
  }

  private emitLink(change: LinkChange): void {
    this.emitSafely('link', change);
  }

  /** A listener's bug must not tear down the link or break the stream. */
  private emitSafely(name: string, payload: unknown): void {
    try {
      this.emit(name, payload);
    } catch (err) {
      this.logger.error(`IPC '${name}' listener threw`, { error: errorMessage(err) });
    }
  }

  private rejectWaiters(err: IpcError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.pingInFlight = false;
  }

  private stopTimers(): void {
    this.stopHeartbeat();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }
}

/** JSON-RPC errors from the server keep their code; local failures (timeout, link down) have none. */
function toIpcError(method: string, err: unknown): IpcError {
  if (err instanceof IpcError) return err;
  if (err instanceof JSONRPCErrorException) {
    if (err.code === 0) return new IpcError(`${method}: ${err.message}`, { method }, { cause: err });
    return new IpcError(
      `${method}: ${err.message}`,
      { method, data: err.data },
      { cause: err, code: err.code },
    );
  }
  return new IpcError(`${method}: ${errorMessage(err)}`, { method }, { cause: err });
}

function describeSocketError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused (trading not listening)';
  if (code === 'ECONNRESET') return 'connection reset';
  return err.message;
}

function isEvent(value: unknown): value is TradingEvent {
  const e = value as Partial<TradingEvent> | null;
  return !!e && typeof e === 'object' && Number.isSafeInteger(e.seq) && typeof e.type === 'string';
}
