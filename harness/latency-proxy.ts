/**
 * A loopback TCP proxy that puts a network between a client and a local server: every byte is held for a fixed
 * one-way delay in each direction, so a request and its answer cost one round trip (`roundTripMs`), and opening a
 * connection costs one more (TCP's handshake: the client cannot send before the server's SYN-ACK came back).
 * It works below HTTP: a keep-alive connection stays one connection end to end (ccxt's agent reuses its sockets
 * as it would against the exchange), and bytes keep their order within each direction.
 *
 * Plain TCP only: no TLS, so a real exchange's TLS handshake (one or two more round trips per new connection) is
 * not modelled.
 */
import net from 'node:net';

export interface LatencyProxyOptions {
  /** Where the traffic goes, e.g. a local exchange's `http://127.0.0.1:port`. */
  target: string;
  /** Round trip added to every request/answer (half of it each way); default 50 ms. */
  roundTripMs?: number;
  /** Port to listen on (default: any free one). */
  port?: number;
  /** Sees every chunk as it arrives at the proxy (the server's answers: `from` 'server'), before its delay. */
  observe?: (from: 'client' | 'server', chunk: Buffer) => void;
}

export class LatencyProxy {
  /** Connections opened through the proxy so far (a client without keep-alive opens one per request). */
  connections = 0;
  readonly roundTripMs: number;
  url = '';
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
    roundTripMs: number,
    private readonly observe?: LatencyProxyOptions['observe'],
  ) {
    this.roundTripMs = roundTripMs;
  }

  static async start(options: LatencyProxyOptions): Promise<LatencyProxy> {
    const target = new URL(options.target);
    const server = net.createServer();
    const proxy = new LatencyProxy(
      server,
      { host: target.hostname, port: Number(target.port) },
      options.roundTripMs ?? 50,
      options.observe,
    );
    server.on('connection', (client) => proxy.relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    proxy.url = `${target.protocol}//127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return proxy;
  }

  /** Closes the listener and every connection through it. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    this.connections++;
    const oneWay = this.roundTripMs / 2;
    // the handshake: nothing the client sends reaches the server before a round trip after it connected
    const openAt = Date.now() + this.roundTripMs;
    const upstream = net.connect(this.target.port, this.target.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    const toServer = this.delayed(upstream, () => Math.max(Date.now(), openAt) + oneWay);
    const toClient = this.delayed(client, () => Date.now() + oneWay);
    client.on('data', (chunk: Buffer) => {
      this.observe?.('client', chunk);
      toServer.send(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      this.observe?.('server', chunk);
      toClient.send(chunk);
    });
    // an end or a reset travels like data: after the same delay, behind what was sent before it
    client.on('end', toServer.end);
    upstream.on('end', toClient.end);
    client.on('close', () => toServer.destroy());
    upstream.on('close', () => toClient.destroy());
  }

  /** Writes to `to` at the time `dueAt()` gave when each chunk arrived, strictly in arrival order. */
  private delayed(
    to: net.Socket,
    dueAt: () => number,
  ): { send: (chunk: Buffer) => void; end: () => void; destroy: () => void } {
    const queue: Array<{ at: number; run: () => void }> = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = (): void => {
      if (timer) this.timers.delete(timer);
      timer = undefined;
      while (queue.length > 0 && queue[0].at <= Date.now()) queue.shift()!.run();
      if (queue.length > 0) arm();
    };
    const arm = (): void => {
      timer = setTimeout(drain, Math.max(0, queue[0].at - Date.now()));
      this.timers.add(timer);
    };
    const later = (run: () => void): void => {
      queue.push({ at: dueAt(), run });
      if (!timer) arm();
    };
    return {
      send: (chunk) => later(() => to.writable && to.write(chunk)),
      end: () => later(() => to.end()),
      destroy: () => later(() => to.destroy()),
    };
  }
}
