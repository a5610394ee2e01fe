/**
 * Connections opened ahead for ccxt's HTTP client (an undici connector, `connect(options, callback)`): when the
 * client opens its first connection to an origin, `spare` more are opened beside it. The start sends its reads in
 * two batches, markets and the account, then recovery's reads all at once (the recent orders of each symbol, the
 * open orders, the balance); without spares each read of the second batch beyond the first batch's kept-alive
 * connections pays a TCP (and, against a real exchange, TLS) handshake: a round trip or more. With them, the
 * handshakes run during the first batch.
 *
 * Each spare goes to the next new connection the client wants to that origin (one that failed to open or was closed
 * is skipped); those still unused after `idleMs` are closed — well before a server drops a connection that never sent
 * a request (a socket nobody reads would not notice that close, and the request it carried would fail). Only the first connection to an origin opens spares: later
 * reconnects (the exchange closed idle ones) open one connection each, as the client would.
 */
import type { Socket } from 'node:net';

export type ConnectCallback = (err: Error | null, socket?: Socket) => void;
export interface ConnectOptions {
  hostname: string;
  protocol: string;
  port: string | number;
  [key: string]: unknown;
}
export type Connector = (options: ConnectOptions, callback: ConnectCallback) => unknown;

export interface SpareConnectionOptions {
  /** How many connections to open beside the first one to each origin. */
  spare: number;
  /** Spares not taken by then are closed (default 5 s: the start's reads come within the first second). */
  idleMs?: number;
}

export function withSpareConnections(connect: Connector, opts: SpareConnectionOptions): Connector {
  const spares = new Map<string, Array<Promise<Socket>>>();
  const idleMs = opts.idleMs ?? 5_000;

  const openSpare = (options: ConnectOptions): Promise<Socket> => {
    const opened = new Promise<Socket>((resolve, reject) => {
      connect(options, (err, socket) =>
        err || !socket ? reject(err ?? new Error('no socket')) : resolve(socket),
      );
    });
    opened.catch(() => undefined);
    return opened;
  };

  const closeUnused = (key: string): void => {
    for (const waiting of spares.get(key) ?? [])
      void waiting.then(
        (s) => s.destroy(),
        () => undefined,
      );
    spares.set(key, []);
  };

  const take = (key: string, options: ConnectOptions, callback: ConnectCallback): void => {
    const next = spares.get(key)?.shift();
    if (!next) {
      connect(options, callback);
      return;
    }
    next.then(
      (socket) => {
        if (socket.destroyed || socket.readyState !== 'open') take(key, options, callback);
        else callback(null, socket);
      },
      () => take(key, options, callback),
    );
  };

  return (options, callback) => {
    const key = `${options.protocol}//${options.hostname}:${options.port}`;
    if (!spares.has(key)) {
      // the connection asked for first, then the spares beside it
      connect(options, callback);
      spares.set(
        key,
        Array.from({ length: Math.max(0, opts.spare) }, () => openSpare(options)),
      );
      setTimeout(() => closeUnused(key), idleMs).unref();
      return;
    }
    take(key, options, callback);
  };
}
