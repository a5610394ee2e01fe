/**
 * Connections opened ahead for ccxt's HTTP client (an undici connector, `connect(options, callback)`). The start
 * sends its reads in two batches, markets and the account, then recovery's reads all at once (the recent orders of
 * each symbol, the open orders, the balance). Without spares, every new connection pays a TCP (and, against a real
 * exchange, TLS) handshake before its request: a round trip or more, once for the first batch and again for each
 * read of the second beyond the first batch's kept-alive connections.
 *
 * - `preconnect(origin)`: when the origin is known before ccxt is even loaded (the configured API URL, or the
 *   profile's `restOrigin`), `spare` connections are opened at once with node's net/tls as undici would (HTTP/1.1,
 *   no delay, keep-alive), so their handshakes run while ccxt loads: the first batch goes out on open connections
 *   (the adapter gives the event loop a turn right after, or node's connect calls wait for the end of ccxt's
 *   synchronous load; a host name's lookup answers later, so its connects go out after ccxt's load).
 * - otherwise, when the client opens its first connection to an origin, `spare` more are opened beside it, so the
 *   second batch finds them open.
 *
 * Each spare goes to the next new connection the client wants to that origin (one that failed to open or was closed
 * is skipped; one still connecting is waited for at most `takeWaitMs`, and a spare opened ahead is given up after
 * `connectTimeoutMs`, as undici gives up its own: a handshake that stalls never holds a request, or the start, for
 * longer than the client's own connect would); those still unused after `idleMs` are closed — well before a server drops a connection that never sent
 * a request (a socket nobody reads would not notice that close, and the request it carried would fail). Only the
 * first connection to an origin opens spares: later reconnects open one connection each, as the client would.
 */
import net, { type Socket } from 'node:net';
import type tlsModule from 'node:tls';
import type { CancelTimer, Clock } from '../../shared/clock';

/**
 * node's tls, loaded with the first https connection: this module is in the trading bundle, and loading tls at its
 * top was part of every start, paper and plain-http ones included.
 */
let tls: typeof tlsModule | undefined;

export type ConnectCallback = (err: Error | null, socket?: Socket) => void;
export interface ConnectOptions {
  hostname: string;
  protocol: string;
  port: string | number;
  [key: string]: unknown;
}
export type Connector = (options: ConnectOptions, callback: ConnectCallback) => unknown;

export interface SpareConnectionOptions {
  /** How many connections to open ahead per origin. */
  spare: number;
  /** The adapter's clock: the idle, connect and take deadlines are its timers. */
  clock: Clock;
  /** Spares not taken by then are closed (default 5 s: the start's reads come within the first second). */
  idleMs?: number;
  /** A spare opened ahead that is not connected by then is given up (default 10 s, undici's connect timeout). */
  connectTimeoutMs?: number;
  /**
   * How long a new connection waits for a spare still connecting before it opens its own (default 1 s): a spare
   * whose handshake stalls must not hold a request longer than the client's own connect would.
   */
  takeWaitMs?: number;
}

/** undici's default connect timeout. */
const CONNECT_TIMEOUT_MS = 10_000;
const TAKE_WAIT_MS = 1_000;

export class SpareConnections {
  private readonly spares = new Map<string, Array<Promise<Socket>>>();
  /** Sockets opened ahead, until connected: `close()` ends those still connecting too. */
  private readonly connecting = new Set<Socket>();
  private readonly timers = new Set<CancelTimer>();
  private closed = false;

  constructor(private readonly opts: SpareConnectionOptions) {}

  /**
   * Opens the spares to `origin` (scheme://host[:port]) now, before any HTTP client exists, and `extra` more for a
   * client of the start's own to `take` (early-reads.ts).
   */
  preconnect(origin: string, extra = 0): void {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
    const key = keyOf(url.protocol, url.hostname, url.port);
    if (this.closed || this.spares.has(key)) return;
    const timeoutMs = this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.keep(
      key,
      Array.from({ length: Math.max(0, this.opts.spare + extra) }, () =>
        settled(openDirect(url, timeoutMs, this.connecting, this.opts.clock)),
      ),
    );
  }

  /**
   * A spare to `origin` taken out for a client of its own (early-reads.ts), or undefined when none is left: it
   * resolves once open (unref'd: the taker refs it while using it), or undefined when it failed or was not open within
   * `takeWaitMs` (then closed whenever it opens), as the connector hands spares out.
   */
  take(origin: string): Promise<Socket | undefined> | undefined {
    const url = new URL(origin);
    return this.nextOpen(keyOf(url.protocol, url.hostname, url.port));
  }

  /** `connect` (undici's own connector) with the spares handed out first. */
  connector(connect: Connector): Connector {
    const take = (key: string, options: ConnectOptions, callback: ConnectCallback): void => {
      const next = this.nextOpen(key);
      if (!next) {
        connect(options, callback);
        return;
      }
      // one not open in time, failed or closed: the next spare, then a connection of its own
      void next.then((socket) => (socket ? callback(null, socket.ref()) : take(key, options, callback)));
    };
    return (options, callback) => {
      const key = keyOf(options.protocol, options.hostname, options.port);
      if (this.closed || this.spares.has(key)) {
        take(key, options, callback);
        return;
      }
      // the connection asked for first, then the spares beside it
      connect(options, callback);
      this.keep(
        key,
        Array.from({ length: Math.max(0, this.opts.spare) }, () =>
          settled(
            new Promise<Socket>((resolve, reject) =>
              connect(options, (err, socket) =>
                err || !socket ? reject(err ?? new Error('no socket')) : resolve(socket),
              ),
            ),
          ),
        ),
      );
    };
  }

  /** Closes every spare not taken; later connections are plain ones. */
  close(): void {
    this.closed = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    for (const key of this.spares.keys()) this.closeUnused(key);
    for (const socket of this.connecting) socket.destroy();
    this.connecting.clear();
  }

  /**
   * The next spare to `key` once open, or undefined when none is left. A spare still connecting is waited for at most
   * takeWaitMs, then left to its own timeout or to close() and closed whenever it opens: the promise then resolves
   * undefined, as for one that failed to open or was closed meanwhile.
   */
  private nextOpen(key: string): Promise<Socket | undefined> | undefined {
    const next = this.spares.get(key)?.shift();
    if (!next) return undefined;
    let waited: CancelTimer | undefined;
    const gaveUp = new Promise<undefined>((resolve) => {
      waited = this.opts.clock.timer(this.opts.takeWaitMs ?? TAKE_WAIT_MS, () => resolve(undefined));
    });
    return Promise.race([next, gaveUp]).then(
      (socket) => {
        waited?.();
        if (!socket) {
          void next.then(
            (late) => late.destroy(),
            () => undefined,
          );
          return undefined;
        }
        return socket.destroyed || socket.readyState !== 'open' ? undefined : socket;
      },
      () => {
        waited?.();
        return undefined;
      },
    );
  }

  private keep(key: string, spares: Array<Promise<Socket>>): void {
    this.spares.set(key, spares);
    const cancel = this.opts.clock.timer(
      this.opts.idleMs ?? 5_000,
      () => {
        this.timers.delete(cancel);
        this.closeUnused(key);
      },
      // an idle spare keeps no process alive, nor does the deadline that closes it
      { unref: true },
    );
    this.timers.add(cancel);
  }

  private closeUnused(key: string): void {
    for (const waiting of this.spares.get(key) ?? []) {
      void waiting.then(
        (s) => s.destroy(),
        () => undefined,
      );
    }
    this.spares.set(key, []);
  }
}

function keyOf(protocol: string, hostname: string, port: string | number): string {
  const p = Number(port) || (protocol === 'https:' ? 443 : 80);
  return `${protocol}//${hostname.replace(/^\[|\]$/g, '')}:${p}`;
}

/**
 * A connection to `url`'s origin as undici opens one: TLS with SNI and HTTP/1.1 by ALPN for https, given up (the
 * socket destroyed) when not connected within `timeoutMs`. Listed in `connecting` until it is connected or gone.
 */
function openDirect(url: URL, timeoutMs: number, connecting: Set<Socket>, clock: Clock): Promise<Socket> {
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (https ? 443 : 80);
  return new Promise((resolve, reject) => {
    const socket = https
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports
        (tls ??= require('node:tls') as typeof tlsModule).connect({
          host,
          port,
          ALPNProtocols: ['http/1.1'],
          ...(net.isIP(host) ? {} : { servername: host }),
        })
      : net.connect({ host, port });
    connecting.add(socket);
    const cancel = clock.timer(
      timeoutMs,
      () => socket.destroy(new Error(`connection to ${url.origin} not open within ${timeoutMs} ms`)),
      { unref: true },
    );
    const settle = (): void => {
      cancel();
      connecting.delete(socket);
    };
    socket.once('close', settle);
    socket.setNoDelay(true).setKeepAlive(true, 60_000);
    socket.once(https ? 'secureConnect' : 'connect', () => {
      settle();
      resolve(socket);
    });
    // kept for the socket's life: an idle spare's error must not go unhandled
    socket.on('error', reject);
  });
}

/**
 * A spare's promise: an idle spare keeps no process alive (the HTTP client refs a connection it uses), and a failure
 * never counts as unhandled (the next connection just opens its own).
 */
function settled(opening: Promise<Socket>): Promise<Socket> {
  const spare = opening.then((socket) => socket.unref());
  spare.catch(() => undefined);
  return spare;
}
