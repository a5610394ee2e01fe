/**
 * The trading side of the internal TCP layer: a loopback-only JSON-RPC 2.0 server over newline-delimited
 * JSON (see protocol.ts). The `json-rpc-2.0` package builds the messages; this class adds what a daemon
 * needs around them: the hello/token gate, frame/client/idle limits, its method table (a handler that answers
 * synchronously — ping, status, orders… — is answered in the turn its request was read, no promise between;
 * notifications are run and never answered), param validation for every method, error mapping, and the durable
 * event stream (`subscribe`).
 *
 * Error mapping for handlers registered with `handle()`:
 * - params that do not match the method's schema → InvalidParams (the handler never runs);
 * - `IpcError` with a `code` → that code (e.g. `new IpcError('paused', {}, { code: RpcErrorCode.Refused })`);
 * - any other `ByNinjaError` (PersistenceError, OperationalError…) → Refused with its message, which the error
 *   hierarchy keeps free of secrets;
 * - anything else → InternalError "Internal error" (details only in the server log).
 * A throwing handler never takes the server down.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import {
  JSONRPCErrorException,
  createJSONRPCErrorResponse,
  createJSONRPCSuccessResponse,
  type JSONRPCID,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import type { Clock } from '../clock';
import { ByNinjaError, errorMessage, IpcError } from '../errors';
import type { Logger } from '../logging/logger';
import { RefusalLog } from '../logging/refusal-log';
import { Redactor } from '../logging/redact';
import type { EventLog } from './event-log';
import { encodeFrame } from './framing';
import { bindAddress, isLoopbackHost } from './loopback';
import { checkParams } from './method-params';
import { PROTOCOL_VERSION, RpcErrorCode, type RpcMethod, type RpcParams, type RpcResult } from './protocol';
import { HelloRefusal, isPromiseLike, ServerConnection, type ConnectionHost } from './server-connection';

export interface IpcServerOptions {
  /** Loopback only (127.0.0.0/8, localhost, ::1); anything else is refused by the constructor. */
  host: string;
  /** 0 picks a free port (tests); `listen()` returns the real one. */
  port: number;
  token: string;
  /** Longest accepted line in bytes (config default 1 MiB). */
  maxFrameBytes: number;
  /** Simultaneous authenticated clients (config default 16); connections without a hello yet have their own cap. */
  maxClients: number;
  /** A client that sends nothing for this long is disconnected (config default 60 s; heartbeats keep it alive). */
  idleTimeoutMs: number;
  logger: Logger;
  eventLog: EventLog;
  /**
   * The daemon's one clock (trading's composition root passes systemClock): ping's `now`, hello's start, the refusal
   * log, each connection's hello and idle deadlines, the grace before a refused socket is destroyed.
   */
  clock: Clock;
  /**
   * Sent in the hello answer: how long clients should wait for the methods slower than a request (protocol.ts
   * `answerTimeoutsMs`; trading's from trading/control/answer-timeouts.ts). Default none.
   */
  answerTimeoutsMs?: Partial<Record<RpcMethod, number>>;
  /** A new connection must have said hello this long after accept (absolute); default min(idleTimeoutMs, 5 s). */
  helloTimeoutMs?: number;
  /**
   * Connections without a hello yet, at most (default 4). A new one beyond it evicts the oldest: sockets without
   * the token can never take the slots of authenticated clients, nor keep a real client from saying hello.
   */
  maxUnauthenticated?: number;
  /** Requests of one connection handled at once (default 32); above it the server stops reading that socket. */
  maxInFlight?: number;
  /** A connection's unsent output above which the server stops reading it until it drains (default 1 MiB). */
  outputHighWaterBytes?: number;
  /** Minimum time between two log lines about refused connections of the same peer address (default 60 s). */
  refusalLogIntervalMs?: number;
  /** A client whose unread output exceeds this is dropped; default max(8 MiB, 4 × maxFrameBytes). */
  maxOutputBufferBytes?: number;
  /**
   * The service's one redactor: every param a handler receives (operator free text such as a pause reason) and
   * every result it returns pass through it, so a secret never reaches state, events or another process.
   */
  redactor?: Redactor;
}

type Handler<M extends RpcMethod> = (params: RpcParams<M>) => Promise<RpcResult<M>> | RpcResult<M>;
/** A registered method: raw params in, its result out (a promise only when the handler returned one). */
type Method = (raw: unknown, conn: ServerConnection) => unknown;

/** Methods the server implements itself. */
const BUILT_IN: readonly RpcMethod[] = ['hello', 'subscribe'];

export class IpcServer {
  private readonly methods = new Map<string, Method>();
  private readonly connections = new Set<ServerConnection>();
  /** Connections that have not said hello yet, oldest first (the eviction order). */
  private readonly unauthenticated = new Set<ServerConnection>();
  private readonly refusals: RefusalLog;
  private readonly maxUnauthenticated: number;
  private readonly tokenDigest: Buffer;
  private readonly logger: Logger;
  private readonly host: string;
  private readonly startedAt: number;
  private readonly connectionHost: ConnectionHost;
  private readonly redactor: Redactor;
  private server: net.Server | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: IpcServerOptions) {
    if (!isLoopbackHost(opts.host)) {
      throw new IpcError(
        `Refusing to listen on "${opts.host}": the IPC server binds to loopback only (127.0.0.1, localhost or ::1)`,
        { host: opts.host },
      );
    }
    if (!opts.token) throw new IpcError('IPC token is empty: refusing to start an unauthenticated server');
    for (const [name, value] of Object.entries({
      maxFrameBytes: opts.maxFrameBytes,
      maxClients: opts.maxClients,
      idleTimeoutMs: opts.idleTimeoutMs,
    })) {
      if (!Number.isInteger(value) || value < 1)
        throw new IpcError(`IPC ${name} must be a positive integer`, { value });
    }
    this.host = bindAddress(opts.host);
    this.startedAt = Math.round(opts.clock.now() - process.uptime() * 1000);
    this.refusals = new RefusalLog(opts.refusalLogIntervalMs ?? 60_000);
    this.maxUnauthenticated = Math.max(1, opts.maxUnauthenticated ?? 4);
    this.redactor = opts.redactor ?? new Redactor();
    this.logger = opts.logger.child({ module: 'ipc-server' });
    this.tokenDigest = digest(opts.token);

    this.connectionHost = {
      answer: (request, conn) => this.answer(request, conn),
      logger: this.logger,
      clock: opts.clock,
      maxFrameBytes: opts.maxFrameBytes,
      idleTimeoutMs: opts.idleTimeoutMs,
      helloTimeoutMs: opts.helloTimeoutMs ?? Math.min(opts.idleTimeoutMs, 5_000),
      maxOutputBufferBytes: opts.maxOutputBufferBytes ?? Math.max(8 * 1024 * 1024, 4 * opts.maxFrameBytes),
      maxInFlight: opts.maxInFlight ?? 32,
      outputHighWaterBytes: opts.outputHighWaterBytes ?? 1024 * 1024,
      authenticate: (params, conn) => this.authenticate(params, conn),
      refused: (conn, reason) => this.logRefusal(conn.peer, reason),
      subscribe: (afterSeq, listener) => opts.eventLog.subscribe(afterSeq, listener),
      eventJsonAfter: (afterSeq, limit) => opts.eventLog.jsonAfter(afterSeq, limit),
      oldestSeq: () => opts.eventLog.oldestSeq,
      lastSeq: () => opts.eventLog.lastSeq,
      connectionClosed: (conn) => {
        this.connections.delete(conn);
        this.unauthenticated.delete(conn);
      },
    };

    // A second hello on an authenticated connection is a client bug, not a new login.
    this.methods.set('hello', () => {
      throw new JSONRPCErrorException('Already authenticated', RpcErrorCode.InvalidRequest);
    });
    this.register('subscribe', (params, conn) => conn.startSubscription(params.afterSeq));
    // Liveness for heartbeats; trading replaces it with one that reports its loop state.
    this.handle('ping', () => ({
      now: opts.clock.now(),
      pid: process.pid,
      loopState: 'starting',
      lastTickAgeMs: null,
    }));
  }

  /** Register (or replace) the handler of a method. Params reach it already validated. */
  handle<M extends RpcMethod>(method: M, fn: Handler<M>): void {
    if (BUILT_IN.includes(method)) throw new IpcError(`"${method}" is built into the IPC server`, { method });
    this.register(method, (params) => fn(params));
  }

  /** Start accepting connections. Resolves with the bound port. */
  listen(): Promise<{ port: number }> {
    if (this.server) return Promise.reject(new IpcError('IPC server already listening'));
    if (this.closing) return Promise.reject(new IpcError('IPC server is closed'));
    const server = net.createServer((socket) => this.onConnection(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = null;
        reject(
          new IpcError(`IPC server cannot listen on ${this.host}:${this.opts.port}: ${err.message}`, {
            host: this.host,
            port: this.opts.port,
          }),
        );
      };
      server.once('error', onError);
      server.listen({ host: this.host, port: this.opts.port, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.logger.error('IPC server error', { error: errorMessage(err) }));
        const address = server.address() as net.AddressInfo;
        if (!isLoopbackHost(address.address)) {
          server.close();
          reject(new IpcError(`IPC server bound to non-loopback ${address.address}; refusing`));
          return;
        }
        this.logger.info('IPC server listening', { host: address.address, port: address.port });
        resolve({ port: address.port });
      });
    });
  }

  /** Number of open connections (authenticated or not). */
  get clientCount(): number {
    return this.connections.size;
  }

  /** Stop accepting, drop every connection. Idempotent; the event log stays open (its owner closes it). */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        for (const conn of this.connections) conn.destroy();
        this.connections.clear();
        if (!this.server) return resolve();
        this.server.close(() => resolve());
      }).then(() => {
        this.logger.info('IPC server closed');
      });
    }
    return this.closing;
  }

  private register<M extends RpcMethod>(
    method: M,
    fn: (params: RpcParams<M>, conn: ServerConnection) => Promise<RpcResult<M>> | RpcResult<M>,
  ): void {
    this.methods.set(method, (raw, conn) => {
      const check = checkParams(method, raw);
      if (!check.ok) {
        throw new JSONRPCErrorException(
          `Invalid params for ${method}: ${check.problem}`,
          RpcErrorCode.InvalidParams,
        );
      }
      const result = fn(this.redactor.redactValue(check.params) as RpcParams<M>, conn);
      return isPromiseLike(result)
        ? Promise.resolve(result).then((r) => this.resultOf(r))
        : this.resultOf(result);
    });
  }

  /** A JSON-RPC success needs a result member (`undefined` would serialise to none); secrets masked. */
  private resultOf(result: unknown): unknown {
    return result === undefined ? null : this.redactor.redactValue(result);
  }

  /**
   * The response to one well-formed request of an authenticated connection, or null for a notification (JSON-RPC
   * answers those never). The handler runs now; a handler that answers synchronously (ping, status…) is answered
   * without a promise, so its response is written in the same turn as the request was read.
   */
  private answer(
    request: JSONRPCRequest,
    conn: ServerConnection,
  ): JSONRPCResponse | null | PromiseLike<JSONRPCResponse | null> {
    const id = request.id;
    const method = this.methods.get(request.method);
    if (!method) {
      return id === undefined
        ? null
        : createJSONRPCErrorResponse(id, RpcErrorCode.MethodNotFound, 'Method not found');
    }
    const respond = (result: unknown): JSONRPCResponse | null =>
      id === undefined ? null : createJSONRPCSuccessResponse(id, result);
    const fail = (err: unknown): JSONRPCResponse | null => {
      const response = this.mapError(id ?? null, err);
      return id === undefined ? null : response;
    };
    let result: unknown;
    try {
      result = method(request.params, conn);
    } catch (err) {
      return fail(err);
    }
    return isPromiseLike(result) ? result.then(respond, fail) : respond(result);
  }

  /** Authenticated clients right now. */
  private get authenticatedCount(): number {
    return this.connections.size - this.unauthenticated.size;
  }

  private onConnection(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.authenticatedCount >= this.opts.maxClients) {
      this.logRefusal(socket.remoteAddress ?? '?', `too many clients (max ${this.opts.maxClients})`);
      socket.on('error', () => undefined);
      socket.end(
        encodeFrame(
          createJSONRPCErrorResponse(
            null,
            RpcErrorCode.TooManyClients,
            `Too many clients (max ${this.opts.maxClients})`,
          ),
        ),
      );
      // a grace for the refusal to flush, which nobody waits for: it must not keep a stopping daemon alive
      const cancelGrace = this.opts.clock.timer(1_000, () => socket.destroy(), { unref: true });
      socket.once('close', cancelGrace);
      return;
    }
    if (this.unauthenticated.size >= this.maxUnauthenticated) {
      // the oldest silent socket goes: a real client says hello at once, so it is never the one evicted
      const oldest = this.unauthenticated.values().next().value!;
      this.unauthenticated.delete(oldest);
      this.logRefusal(oldest.peer, 'evicted: no hello while new connections wait');
      oldest.destroy();
    }
    const conn = new ServerConnection(socket, this.connectionHost);
    this.connections.add(conn);
    this.unauthenticated.add(conn);
  }

  private authenticate(params: RpcParams<'hello'>, conn: ServerConnection): RpcResult<'hello'> {
    // Digests have equal length whatever the token's length, so timingSafeEqual never throws and the
    // comparison leaks neither content nor length.
    if (!crypto.timingSafeEqual(digest(params.token), this.tokenDigest)) {
      throw new HelloRefusal(RpcErrorCode.Unauthorized, 'Unauthorized: wrong token');
    }
    if (params.version !== PROTOCOL_VERSION) {
      throw new HelloRefusal(
        RpcErrorCode.VersionMismatch,
        `Protocol version mismatch: client speaks ${params.version}, server speaks ${PROTOCOL_VERSION}`,
        { serverVersion: PROTOCOL_VERSION },
      );
    }
    if (this.authenticatedCount >= this.opts.maxClients) {
      throw new HelloRefusal(RpcErrorCode.TooManyClients, `Too many clients (max ${this.opts.maxClients})`);
    }
    this.unauthenticated.delete(conn);
    return {
      server: 'trading',
      version: PROTOCOL_VERSION,
      pid: process.pid,
      startedAt: this.startedAt,
      ...(this.opts.answerTimeoutsMs ? { answerTimeoutsMs: this.opts.answerTimeoutsMs } : {}),
    };
  }

  /**
   * One warn line per peer address per interval, with the count of refusals not logged since the last one; at most
   * 10 lines per interval over all peers (RefusalLog), the next line counting the other peers' unlogged refusals.
   */
  private logRefusal(peer: string, reason: string): void {
    const { log, suppressed, suppressedOthers } = this.refusals.record(peer, this.opts.clock.now());
    if (!log) return;
    this.logger.warn('IPC connection refused', {
      peer,
      reason,
      ...(suppressed > 0 ? { suppressedSinceLastLog: suppressed } : {}),
      ...(suppressedOthers > 0 ? { suppressedOtherPeers: suppressedOthers } : {}),
    });
  }

  private mapError(id: JSONRPCID, err: unknown): ReturnType<typeof createJSONRPCErrorResponse> {
    if (err instanceof JSONRPCErrorException) {
      return createJSONRPCErrorResponse(id, err.code, err.message, err.data);
    }
    if (err instanceof IpcError && err.code !== undefined) {
      this.logger.warn('IPC request refused', { error: err.message, code: err.code });
      return createJSONRPCErrorResponse(id, err.code, err.message);
    }
    if (err instanceof ByNinjaError) {
      this.logger.warn('IPC request refused', { error: err.message, kind: err.name });
      return createJSONRPCErrorResponse(id, RpcErrorCode.Refused, err.message, { error: err.name });
    }
    this.logger.error('IPC handler failed', { error: errorMessage(err), stack: (err as Error)?.stack });
    return createJSONRPCErrorResponse(id, RpcErrorCode.InternalError, 'Internal error');
  }
}

function digest(token: string): Buffer {
  return crypto.createHash('sha256').update(token, 'utf8').digest();
}
