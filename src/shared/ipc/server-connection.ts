/**
 * One client connection of the IPC server: framing, the hello gate, idle timeout, request dispatch to the
 * shared JSON-RPC server, and the event stream with back-pressure.
 *
 * Nothing a peer sends can throw out of here: every failure becomes a JSON-RPC error frame and, when the
 * peer cannot be trusted any more (no hello, bad frame, too slow), the connection is closed.
 */
import type net from 'node:net';
import {
  createJSONRPCErrorResponse,
  createJSONRPCSuccessResponse,
  type JSONRPCID,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import type { CancelTimer, Clock } from '../clock';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import type { Subscription } from './event-log';
import { encodeEventFrames, encodeFrame, LineDecoder } from './framing';
import { checkParams } from './method-params';
import { ONE_SHOT_CLIENT, RpcErrorCode, type RpcParams, type RpcResult, type TradingEvent } from './protocol';

/** Events are written while the socket's unsent output is below this; the rest waits for 'drain'. */
const EVENT_HIGH_WATER_BYTES = 256 * 1024;
/** Events read from the log and written per batch (one write call each). */
const EVENT_BATCH = 256;
/** After a refusal the peer gets this long to read the error before the socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/** What a connection needs from its server (kept narrow so the connection can be read on its own). */
export interface ConnectionHost {
  /**
   * Runs the request's method and gives its response (null for a notification): at once when the handler answered
   * synchronously, else a promise. Handler errors are already mapped to error responses.
   */
  answer(
    request: JSONRPCRequest,
    conn: ServerConnection,
  ): JSONRPCResponse | null | PromiseLike<JSONRPCResponse | null>;
  readonly logger: Logger;
  /** The server's clock: the hello and idle deadlines, the grace before a refused socket is destroyed. */
  readonly clock: Clock;
  readonly maxFrameBytes: number;
  readonly idleTimeoutMs: number;
  /** A new connection must have said hello this long after accept (absolute: bytes before it do not extend it). */
  readonly helloTimeoutMs: number;
  readonly maxOutputBufferBytes: number;
  /** Requests of one connection being handled at once; above it the socket is paused (no more reading). */
  readonly maxInFlight: number;
  /** Unsent output above which the socket is paused until it drains. */
  readonly outputHighWaterBytes: number;
  /** Checks a hello (token, version, a free authenticated slot); throws an `HelloRefusal` when refused. */
  authenticate(params: RpcParams<'hello'>, conn: ServerConnection): RpcResult<'hello'>;
  /** A refusal of this peer happened (logged by the server, rate-limited per peer). */
  refused(conn: ServerConnection, reason: string): void;
  subscribe(afterSeq: number, listener: (event: TradingEvent) => void): Subscription;
  /**
   * The JSON of up to `limit` kept events after `afterSeq`, as the log serialised it once (frames embed it instead
   * of serialising it again), and the seq of the last one.
   */
  eventJsonAfter(afterSeq: number, limit: number): { json: string[]; lastSeq: number };
  /** Oldest seq the log still keeps, or null. */
  oldestSeq(): number | null;
  /** Highest seq published (0 before the first). */
  lastSeq(): number;
  connectionClosed(conn: ServerConnection): void;
}

/** A refused hello: the error sent back before closing. */
export class HelloRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export class ServerConnection {
  readonly remote: string;
  /** Peer address without the port: the key of refusal rate limiting. */
  readonly peer: string;
  private readonly decoder: LineDecoder;
  private authed = false;
  /** Requests dispatched and not answered yet. */
  private inFlight = 0;
  /** Complete lines read while the in-flight cap or the output high-water mark was reached (bounded by a chunk). */
  private backlog: string[] = [];
  private paused = false;
  private client = '?';
  private closing = false;
  private closed = false;
  /**
   * The connection's deadline on the clock: hello by `helloTimeoutMs` after accept (absolute), then a chunk at least
   * every `idleTimeoutMs`. A chunk only notes its time (one clock read, no timer per chunk); a deadline that comes
   * due while chunks arrived re-arms for what is left of the idle time after the last one.
   */
  private cancelDeadline: CancelTimer;
  private lastChunkAt = 0;
  private cancelGrace: CancelTimer | null = null;
  private subscription: Subscription | null = null;
  private streaming = false;
  /**
   * Seq of the last event written to this client. The event log itself is the outbox: the stream pulls from
   * it by seq, so a slow client costs no memory and can never see a gap or a reordering; a publish only wakes
   * the pump up.
   */
  private sentSeq = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly host: ConnectionHost,
  ) {
    this.peer = socket.remoteAddress ?? '?';
    this.remote = `${this.peer}:${socket.remotePort ?? '?'}`;
    this.decoder = new LineDecoder(host.maxFrameBytes);
    socket.setNoDelay(true);
    // absolute from accept: chunks count for the idle time only once the peer is authenticated
    this.cancelDeadline = host.clock.timer(host.helloTimeoutMs, () => this.onIdle());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.pumpEvents();
      this.drainBacklog();
    });
    socket.on('error', (err) => this.log().debug('IPC socket error', { error: errorMessage(err) }));
    socket.on('close', () => this.onClose());
  }

  get clientName(): string {
    return this.client;
  }

  get authenticated(): boolean {
    return this.authed;
  }

  /** Called by the `subscribe` method: the replay flows once the response is written, then live events. */
  startSubscription(afterSeq: number): RpcResult<'subscribe'> {
    this.subscription?.unsubscribe();
    this.streaming = false;
    const sub = this.host.subscribe(afterSeq, () => this.pumpEvents());
    this.subscription = sub;
    // Start right before the first event still kept (trimmed ones are reported as `missed`, not a gap).
    const start = sub.streamReset ? 0 : afterSeq;
    const oldest = this.host.oldestSeq();
    this.sentSeq =
      sub.replayed > 0 && oldest !== null ? Math.max(start, oldest - 1) : Math.max(start, sub.lastSeq);
    if (sub.missed > 0 || sub.streamReset) {
      this.log().warn('Subscriber asked for events that are gone', {
        afterSeq,
        missed: sub.missed,
        streamReset: sub.streamReset,
      });
    }
    const result: RpcResult<'subscribe'> = {
      lastSeq: sub.lastSeq,
      replayed: sub.replayed,
      missed: sub.missed,
    };
    if (sub.streamReset) result.streamReset = true;
    return result;
  }

  /** Drop the connection now (server shutdown). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    if (this.authed) this.lastChunkAt = this.host.clock.now();
    const { lines, tooLarge } = this.decoder.push(chunk);
    for (const line of lines) {
      if (this.closing) return;
      if (this.authed && (this.backlog.length > 0 || this.busy())) this.backlog.push(line);
      else this.onLine(line);
    }
    this.updateFlow();
    if (tooLarge && !this.closing) {
      this.refuse(
        null,
        RpcErrorCode.FrameTooLarge,
        `Frame too large (limit ${this.host.maxFrameBytes} bytes)`,
      );
    }
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      const response = createJSONRPCErrorResponse(null, RpcErrorCode.ParseError, 'Parse error: invalid JSON');
      if (this.authed) this.send(response);
      else this.refuse(null, RpcErrorCode.ParseError, 'Parse error: invalid JSON');
      return;
    }
    if (!this.authed) {
      this.onHello(msg);
      return;
    }
    const shape = requestShape(msg);
    if (!shape.ok) {
      this.send(createJSONRPCErrorResponse(shape.id, RpcErrorCode.InvalidRequest, shape.problem));
      return;
    }
    this.dispatch(msg as JSONRPCRequest);
  }

  private onHello(msg: unknown): void {
    const shape = requestShape(msg);
    const id = shape.id;
    if (!shape.ok || (msg as JSONRPCRequest).method !== 'hello') {
      this.refuse(id, RpcErrorCode.Unauthorized, 'Unauthorized: the first message must be a hello request');
      return;
    }
    if (id === null) {
      this.refuse(null, RpcErrorCode.Unauthorized, 'Unauthorized: hello must be a request with an id');
      return;
    }
    const check = checkParams('hello', (msg as JSONRPCRequest).params);
    if (!check.ok) {
      this.refuse(id, RpcErrorCode.InvalidParams, `Invalid params for hello: ${check.problem}`);
      return;
    }
    let result: RpcResult<'hello'>;
    try {
      result = this.host.authenticate(check.params, this);
    } catch (err) {
      if (err instanceof HelloRefusal) {
        this.host.refused(this, `hello refused: ${err.message}`);
        this.refuse(id, err.code, err.message, err.data);
      } else {
        this.log().error('IPC hello failed', { error: errorMessage(err) });
        this.refuse(id, RpcErrorCode.InternalError, 'Internal error');
      }
      return;
    }
    this.authed = true;
    this.client = check.params.client;
    this.cancelDeadline();
    this.lastChunkAt = this.host.clock.now();
    this.armIdleDeadline(this.host.idleTimeoutMs);
    this.log()[this.quietClient() ? 'debug' : 'info']('IPC client connected');
    this.send(createJSONRPCSuccessResponse(id, result));
  }

  private dispatch(request: JSONRPCRequest): void {
    let answer: JSONRPCResponse | null | PromiseLike<JSONRPCResponse | null>;
    try {
      answer = this.host.answer(request, this);
    } catch (err) {
      this.dispatchFailed(request, err);
      return;
    }
    if (!isPromiseLike(answer)) {
      // answered synchronously: written now, no promise turn (the path of ping and every read-only method)
      this.respond(request, answer);
      return;
    }
    this.inFlight++;
    answer
      .then(
        (response) => this.respond(request, response),
        (err: unknown) => this.dispatchFailed(request, err),
      )
      .then(() => {
        this.inFlight--;
        this.drainBacklog();
      });
  }

  private respond(request: JSONRPCRequest, response: JSONRPCResponse | null): void {
    if (response) this.send(response);
    if (request.method === 'subscribe' && this.subscription && !this.streaming) {
      this.streaming = true;
      this.pumpEvents();
    }
  }

  /** The server maps handler errors itself: this is a bug in the dispatch path, never the peer's fault. */
  private dispatchFailed(request: JSONRPCRequest, err: unknown): void {
    this.log().error('IPC dispatch failed', { method: request.method, error: errorMessage(err) });
    if (request.id !== undefined) {
      this.send(createJSONRPCErrorResponse(request.id ?? null, RpcErrorCode.InternalError, 'Internal error'));
    }
  }

  /** The in-flight cap or the output high-water mark is reached: read nothing more until it is not. */
  private busy(): boolean {
    return (
      this.inFlight >= this.host.maxInFlight || this.socket.writableLength >= this.host.outputHighWaterBytes
    );
  }

  /** Handle lines held back while busy, then resume reading when nothing is held back any more. */
  private drainBacklog(): void {
    while (this.backlog.length > 0 && !this.busy() && !this.closing) this.onLine(this.backlog.shift()!);
    this.updateFlow();
  }

  /**
   * Back-pressure: a peer that sends requests faster than it reads the answers stops being read (socket paused:
   * the kernel's buffers fill and its writes block) instead of growing this process's memory.
   */
  private updateFlow(): void {
    if (this.closed) return;
    const hold = this.backlog.length > 0 || this.busy();
    if (hold && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!hold && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /**
   * Write events after `sentSeq` from the log while the socket keeps up; 'drain' and publishes resume it. The log
   * wakes it once per event, after the whole group commit is readable: the first call sends the group, the
   * others find nothing new.
   */
  private pumpEvents(): void {
    if (!this.streaming || this.closing || this.sentSeq >= this.host.lastSeq()) return;
    const oldest = this.host.oldestSeq();
    if (oldest !== null && oldest > this.sentSeq + 1) {
      // Events this client has not received yet were trimmed: it fell more than `retention` behind.
      // Drop it; on reconnect it learns the exact `missed` count instead of silently skipping them.
      this.log().warn('IPC client fell behind the event retention; dropping it', {
        sentSeq: this.sentSeq,
        oldest,
      });
      this.socket.destroy();
      return;
    }
    while (this.socket.writableLength < EVENT_HIGH_WATER_BYTES) {
      const { json, lastSeq } = this.host.eventJsonAfter(this.sentSeq, EVENT_BATCH);
      if (json.length === 0) return;
      this.sentSeq = lastSeq;
      this.socket.write(encodeEventFrames(json));
    }
  }

  private send(message: JSONRPCResponse): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(encodeFrame(message));
    if (this.socket.writableLength > this.host.maxOutputBufferBytes) {
      this.log().warn('IPC client does not read its responses; dropping it', {
        buffered: this.socket.writableLength,
      });
      this.socket.destroy();
    }
  }

  /** Send an error and close: the peer is not (or no longer) trusted. */
  private refuse(id: JSONRPCID, code: number, message: string, data?: unknown): void {
    if (this.closing) return;
    this.log().debug('IPC connection refused', { code, message });
    this.send(createJSONRPCErrorResponse(id, code, message, data));
    this.closeSoon();
  }

  private closeSoon(): void {
    this.closing = true;
    this.subscription?.unsubscribe();
    this.socket.end();
    // a grace nobody waits for: it must not keep a stopping daemon alive
    this.cancelGrace = this.host.clock.timer(CLOSE_GRACE_MS, () => this.socket.destroy(), { unref: true });
  }

  private armIdleDeadline(ms: number): void {
    this.cancelDeadline = this.host.clock.timer(ms, () => {
      const left = this.lastChunkAt + this.host.idleTimeoutMs - this.host.clock.now();
      if (left > 0) this.armIdleDeadline(left);
      else this.onIdle();
    });
  }

  private onIdle(): void {
    if (this.closing) return;
    if (this.authed) this.log().info('IPC client idle; closing');
    else this.host.refused(this, 'no hello in time');
    this.closeSoon();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.cancelDeadline();
    this.cancelGrace?.();
    this.subscription?.unsubscribe();
    this.subscription = null;
    if (this.authed) this.log()[this.quietClient() ? 'debug' : 'info']('IPC client disconnected');
    this.host.connectionClosed(this);
  }

  /**
   * The CLI connects for one request and leaves: its comings and goings are debug lines, or every `byninja status`
   * would put two lines into trading's log (the long-lived telegram link stays at info).
   */
  private quietClient(): boolean {
    return this.client === ONE_SHOT_CLIENT;
  }

  private log(): Logger {
    return this.host.logger.child({ remote: this.remote, client: this.client });
  }
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

type Shape = { ok: true; id: JSONRPCID } | { ok: false; id: JSONRPCID; problem: string };

/** A single JSON-RPC request object with a string method and a valid id (batches are not supported). */
function requestShape(msg: unknown): Shape {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    return {
      ok: false,
      id: null,
      problem: 'Invalid Request: expected one JSON-RPC request object (no batches)',
    };
  }
  const m = msg as Record<string, unknown>;
  const idValid = m.id === undefined || m.id === null || typeof m.id === 'string' || typeof m.id === 'number';
  const id = idValid && m.id !== undefined ? (m.id as JSONRPCID) : null;
  if (!idValid) return { ok: false, id: null, problem: 'Invalid Request: bad id' };
  if (m.jsonrpc !== '2.0') return { ok: false, id, problem: 'Invalid Request: jsonrpc must be "2.0"' };
  if (typeof m.method !== 'string')
    return { ok: false, id, problem: 'Invalid Request: method must be a string' };
  if (m.result !== undefined || m.error !== undefined) {
    return { ok: false, id, problem: 'Invalid Request: responses are not accepted by the server' };
  }
  return { ok: true, id };
}
