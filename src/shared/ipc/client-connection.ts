/**
 * One TCP connection of the IPC client to trading, from dial to end: NDJSON framing, JSON-RPC requests with a
 * per-request timeout, the heartbeat, and the server's `event` notifications. It never re-dials and knows nothing of
 * the link's history: the client (client.ts) makes a new one per attempt and is told once, through `onEnd`, that
 * this one is over (socket closed, frame too large, heartbeat lost, or `end()` called).
 */
import net from 'node:net';
import {
  createJSONRPCErrorResponse,
  isJSONRPCResponse,
  JSONRPCClient,
  JSONRPCErrorException,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import type { CancelTimer, Clock } from '../clock';
import { errorMessage, IpcError } from '../errors';
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

export class ClientConnection {
  /** Resolves when the socket is connected; rejects with IpcError if the connection ends first. */
  readonly opened: Promise<void>;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  private readonly socket: net.Socket;
  private readonly rpc: JSONRPCClient;
  private readonly timedRpc: ReturnType<JSONRPCClient['timeout']>;
  private ended = false;
  /** An error not tied to a request (too many clients, frame too large): the server closes next. */
  private serverNotice: string | null = null;
  private cancelHeartbeat: CancelTimer | null = null;
  private pinging = false;
  private rejectOpened!: (err: IpcError) => void;

  constructor(private readonly opts: ClientConnectionOptions) {
    this.rpc = new JSONRPCClient((payload: unknown) => this.send(payload));
    // built once, not per call (it is on the path of every request; the per-request timer stays)
    const timeoutMs = opts.requestTimeoutMs;
    this.timedRpc = this.rpc.timeout(timeoutMs, (id) =>
      createJSONRPCErrorResponse(id, 0, `no answer within ${timeoutMs} ms`),
    );

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

  async request<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
    try {
      return (await this.timedRpc.request(method, params)) as RpcResult<M>;
    } catch (err) {
      throw toIpcError(method, err);
    }
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
    this.rpc.rejectAllPendingRequests(`IPC link down: ${why}`);
    this.rejectOpened(new IpcError(why));
    this.opts.onEnd(why, refused || this.serverNotice !== null);
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
      this.rpc.receive(response);
      return;
    }
    const m = msg as { method?: unknown; params?: unknown };
    if (m.method === 'event' && isEvent(m.params)) this.opts.onEvent(m.params);
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
