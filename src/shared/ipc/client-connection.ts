/**
 * One TCP connection of the IPC client to trading, from dial to end: NDJSON framing, JSON-RPC requests with a
 * per-request timeout, the heartbeat, and the server's `event` notifications. Requests are matched to responses by
 * id here (json-rpc-2.0 builds and recognises the messages; its client spent ~8 promises and a timer per call). It
 * never re-dials and knows nothing of the link's history: the client (client.ts) makes a new one per attempt and is
 * told once, through `onEnd`, that this one is over (socket closed, frame too large, heartbeat lost, or `end()`
 * called).
 */
import net from 'node:net';
import { createJSONRPCRequest, isJSONRPCResponse, type JSONRPCResponse } from 'json-rpc-2.0';
import type { CancelTimer, Clock } from '../clock';
import { errorMessage, IpcError, IpcTimeoutError } from '../errors';
import type { Logger } from '../logging/logger';
import { encodeFrame, LineDecoder, parseEventFrame } from './framing';
import type { RpcMethod, RpcParams, RpcResult, TradingEvent } from './protocol';

export interface ClientConnectionOptions {
  host: string;
  port: number;
  /** A request without an answer after this long rejects with IpcError; also the connect timeout. */
  requestTimeoutMs: number;
  maxFrameBytes: number;
  clock: Clock;
  logger: Logger;
  /** An `event` notification from the server. */
  onEvent(event: TradingEvent): void;
  /** Called once when the connection is over: why, and whether trading refused us rather than failed. */
  onEnd(reason: string, refused: boolean): void;
}

/** A request waiting for its response. */
interface PendingRequest {
  method: string;
  /** Clock time after which it rejects unanswered. */
  deadline: number;
  /**
   * Its timeout. With one of its own (not the connection's requestTimeoutMs) its own timer (`cancel`) rejects it, and
   * it stays pending for a late answer until the connection ends.
   */
  timeoutMs: number;
  cancel?: CancelTimer;
  resolve(result: unknown): void;
  reject(err: IpcError): void;
}

export class ClientConnection {
  /** Resolves when the socket is connected; rejects with IpcError if the connection ends first. */
  readonly opened: Promise<void>;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  private readonly socket: net.Socket;
  private nextId = 1;
  /**
   * Requests sent and not answered, by id. Requests with the connection's timeout are in deadline order by
   * insertion: one timer, armed for the oldest, serves them all (a timer set and cleared per request cost ~0.6 µs of
   * a ~13 µs round trip). The few with a timeout of their own (an operator action, IpcClient) have their own timer;
   * given up, they stay here for a late answer (IpcTimeoutError.late) until the connection ends.
   */
  private readonly pending = new Map<number, PendingRequest>();
  private cancelDeadline: CancelTimer | null = null;
  private ended = false;
  /** An error not tied to a request (too many clients, frame too large): the server closes next. */
  private serverNotice: string | null = null;
  private cancelHeartbeat: CancelTimer | null = null;
  private pinging = false;
  private rejectOpened!: (err: IpcError) => void;

  constructor(private readonly opts: ClientConnectionOptions) {
    const timeoutMs = opts.requestTimeoutMs;
    const socket = net.connect({ host: opts.host, port: opts.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs);
    const decoder = new LineDecoder(opts.maxFrameBytes);
    let lastError: Error | null = null;
    this.opened = new Promise<void>((resolve, reject) => {
      this.rejectOpened = reject;
      socket.once('connect', () => {
        socket.setTimeout(0);
        resolve();
      });
    });
    this.opened.catch(() => undefined); // the attempt awaits it; an end after connect settles nothing
    this.closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.once('timeout', () => socket.destroy(new Error(`connect timed out after ${timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => this.onData(decoder, chunk));
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.on('close', () =>
      this.end(lastError ? describeSocketError(lastError) : 'connection closed by trading'),
    );
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** This side's port once connected (peer-owner.ts finds the server's side of the connection by it). */
  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /**
   * Rejects with IpcError: with the server's code for a JSON-RPC error response, without one for a local failure
   * (the link down, a socket that no longer writes), IpcTimeoutError when no answer came within requestTimeoutMs, or
   * `ownTimeoutMs` (an operator's action: its own timer, and a late answer still taken, IpcTimeoutError.late).
   */
  request<M extends RpcMethod>(
    method: M,
    params: RpcParams<M>,
    ownTimeoutMs?: number,
  ): Promise<RpcResult<M>> {
    if (this.ended) return Promise.reject(new IpcError(`${method}: not connected`, { method }));
    const id = this.nextId++;
    return new Promise<RpcResult<M>>((resolve, reject) => {
      const clock = this.opts.clock;
      const timeoutMs = ownTimeoutMs ?? this.opts.requestTimeoutMs;
      const p: PendingRequest = {
        method,
        deadline: clock.now() + timeoutMs,
        timeoutMs,
        resolve: resolve as (result: unknown) => void,
        reject,
      };
      this.pending.set(id, p);
      try {
        this.send(createJSONRPCRequest(id, method, params));
      } catch (err) {
        this.pending.delete(id);
        reject(new IpcError(`${method}: ${errorMessage(err)}`, { method }, { cause: err }));
        return;
      }
      if (ownTimeoutMs !== undefined) {
        // an operator's action given up: its answer is still taken while the link lives (IpcTimeoutError.late)
        p.cancel = clock.timer(timeoutMs, () => {
          if (this.pending.get(id) !== p) return;
          const late = new Promise<unknown>((lateResolve, lateReject) => {
            p.resolve = lateResolve;
            p.reject = lateReject;
          });
          reject(timedOut(p, late));
        });
      } else if (!this.cancelDeadline) this.armDeadline();
    });
  }

  /** Pings every `intervalMs` (one at a time); a ping with no answer ends the connection. */
  startHeartbeat(intervalMs: number): void {
    if (this.ended || this.cancelHeartbeat) return;
    const beat = (): void => {
      this.cancelHeartbeat = this.opts.clock.timer(intervalMs, () => {
        beat();
        if (this.pinging) return;
        this.pinging = true;
        this.request('ping', {})
          .catch((err: unknown) => {
            // A JSON-RPC error still proves the link works; only a local failure (timeout) means it is dead.
            if (err instanceof IpcError && err.code === undefined)
              this.end(`heartbeat failed: ${err.message}`);
          })
          .finally(() => {
            this.pinging = false;
          });
      });
    };
    beat();
  }

  /**
   * Ends the connection (idempotent): pending requests reject with IpcError, the socket is destroyed and `onEnd`
   * hears why — a refusal notice the server sent before closing wins over the local reason.
   */
  end(reason: string, refused = false): void {
    if (this.ended) return;
    this.ended = true;
    this.cancelHeartbeat?.();
    this.cancelHeartbeat = null;
    const why = this.serverNotice ?? reason;
    this.socket.destroy();
    this.cancelDeadline?.();
    this.cancelDeadline = null;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.cancel?.();
    for (const p of pending)
      p.reject(new IpcError(`${p.method}: IPC link down: ${why}`, { method: p.method }));
    this.rejectOpened(new IpcError(why));
    this.opts.onEnd(why, refused || this.serverNotice !== null);
  }

  /**
   * One timer for the oldest pending request with the connection's timeout; when it fires, every such request past
   * its deadline rejects.
   */
  private armDeadline(): void {
    let oldest: PendingRequest | undefined;
    for (const p of this.pending.values()) {
      if (p.cancel) continue;
      oldest = p;
      break;
    }
    if (this.ended || !oldest) return;
    const clock = this.opts.clock;
    this.cancelDeadline = clock.timer(Math.max(1, oldest.deadline - clock.now()), () => {
      this.cancelDeadline = null;
      const now = clock.now();
      for (const [id, p] of this.pending) {
        if (p.cancel) continue;
        if (p.deadline > now) break;
        this.pending.delete(id);
        p.reject(timedOut(p));
      }
      this.armDeadline();
    });
  }

  private settle(response: JSONRPCResponse): void {
    const p = typeof response.id === 'number' ? this.pending.get(response.id) : undefined;
    if (!p) return; // answered after its timeout, or not ours
    this.pending.delete(response.id as number);
    p.cancel?.();
    if (response.error) {
      const { message, code, data } = response.error;
      p.reject(new IpcError(`${p.method}: ${message}`, { method: p.method, data }, { code }));
    } else {
      p.resolve(response.result);
    }
  }

  private send(payload: unknown): void {
    const socket = this.socket;
    if (this.ended || socket.destroyed || !socket.writable) throw new Error('not connected');
    socket.write(encodeFrame(payload));
  }

  private onData(decoder: LineDecoder, chunk: Buffer): void {
    if (this.ended) return;
    const { lines, tooLarge } = decoder.push(chunk);
    for (const line of lines) {
      if (this.ended) return;
      this.onLine(line);
    }
    if (tooLarge) this.end('frame from trading exceeds the size limit');
  }

  private onLine(line: string): void {
    // Events are nearly all of the traffic: one parse of the event alone, no envelope object to build and check.
    const event = parseEventFrame(line);
    if (event !== undefined) {
      if (isEvent(event)) this.opts.onEvent(event);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.opts.logger.warn('Ignoring a line from trading that is not JSON', { bytes: line.length });
      return;
    }
    if (msg === null || typeof msg !== 'object') return;
    if (isJSONRPCResponse(msg)) {
      const response = msg as JSONRPCResponse;
      if (response.id === null && response.error) {
        this.serverNotice = `${response.error.message} (code ${response.error.code})`;
        this.opts.logger.warn('Trading refused the connection', {
          code: response.error.code,
          error: response.error.message,
        });
        return;
      }
      this.settle(response);
      return;
    }
    const m = msg as { method?: unknown; params?: unknown };
    if (m.method === 'event' && isEvent(m.params)) this.opts.onEvent(m.params);
  }
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

/** No answer in time, the link up: the request may still be running on the other side. */
function timedOut(p: PendingRequest, late?: Promise<unknown>): IpcTimeoutError {
  return new IpcTimeoutError(
    `${p.method}: no answer within ${p.timeoutMs} ms`,
    { method: p.method, timeoutMs: p.timeoutMs },
    late,
  );
}
