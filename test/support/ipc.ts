/**
 * Test helpers for the IPC layer: temp dirs, a server + event log on a random port, a raw line-speaking peer,
 * an in-memory cursor and a TCP proxy that can cut or black-hole the link.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import {
  IpcClient,
  type EventCursor,
  type IpcClientOptions,
  type LinkChange,
} from '../../src/shared/ipc/client';
import { EventLog } from '../../src/shared/ipc/event-log';
import { PROTOCOL_VERSION, type TradingEvent } from '../../src/shared/ipc/protocol';
import { IpcServer, type IpcServerOptions } from '../../src/shared/ipc/server';
import { silentLogger } from '../../src/shared/logging/logger';

export const TOKEN = 'test-token-0123456789abcdef0123456789abcdef';

export function tempDir(prefix = 'byninja-ipc-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Trading {
  server: IpcServer;
  eventLog: EventLog;
  port: number;
  stop(): Promise<void>;
}

/** A trading-side stack: event log in `dir` and a server on `port` (0 = random). */
export async function startTrading(
  dir: string,
  opts: Partial<IpcServerOptions> & { retention?: number } = {},
): Promise<Trading> {
  const eventLog = await EventLog.open(dir, { retention: opts.retention ?? 1_000, clock: systemClock });
  const server = new IpcServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    maxFrameBytes: 64 * 1024,
    maxClients: 8,
    idleTimeoutMs: 10_000,
    logger: silentLogger(),
    eventLog,
    ...opts,
    clock: opts.clock ?? systemClock,
  });
  const { port } = await server.listen();
  return {
    server,
    eventLog,
    port,
    stop: async () => {
      await server.close();
      await eventLog.close();
    },
  };
}

export class MemoryCursor implements EventCursor {
  saved: number[] = [];
  constructor(public seq = 0) {}
  load(): number {
    return this.seq;
  }
  async save(seq: number): Promise<void> {
    this.seq = seq;
    this.saved.push(seq);
  }
}

/** A client that records its link changes and events. */
export function recordingClient(
  port: number,
  opts: Partial<IpcClientOptions> = {},
): { client: IpcClient; links: LinkChange[]; events: TradingEvent[] } {
  const client = new IpcClient({
    host: '127.0.0.1',
    port,
    token: TOKEN,
    client: 'test',
    requestTimeoutMs: 2_000,
    heartbeatMs: 1_000,
    logger: silentLogger(),
    clock: systemClock,
    backoff: { baseDelayMs: 20, maxDelayMs: 200 },
    ...opts,
  });
  const links: LinkChange[] = [];
  const events: TradingEvent[] = [];
  client.on('link', (l: LinkChange) => links.push(l));
  client.on('event', (e: TradingEvent) => events.push(e));
  return { client, links, events };
}

/** A peer that speaks raw lines, to send what a real client never would. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly messages: Array<Record<string, unknown>> = [];
  closed = false;
  private buf = '';

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (line) this.messages.push(JSON.parse(line) as Record<string, unknown>);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  request(id: number, method: string, params?: unknown): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
  }

  async hello(token = TOKEN, version = PROTOCOL_VERSION): Promise<Record<string, unknown>> {
    this.request(0, 'hello', { token, version, client: 'raw' });
    return this.response(0);
  }

  /** The next message with this id (responses) — waits for it and takes it off the list. */
  async response(id: number | null, timeoutMs = 3_000): Promise<Record<string, unknown>> {
    let index = -1;
    await waitFor(
      `response ${String(id)}`,
      () => (index = this.messages.findIndex((m) => m.id === id)) >= 0,
      timeoutMs,
    );
    return this.messages.splice(index, 1)[0];
  }

  async waitClosed(timeoutMs = 3_000): Promise<void> {
    await waitFor('server to close the connection', () => this.closed, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A loopback TCP proxy in front of the server: `cut()` kills every link, `blackHole` drops traffic silently, and the
 * next `holdNext` connections are accepted but never forwarded (`held`: an attempt that reached no listening server
 * yet, for the test to end).
 */
export class TcpProxy {
  blackHole = false;
  holdNext = 0;
  readonly held: net.Socket[] = [];
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  port = 0;

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((inbound) => {
      if (this.holdNext > 0) {
        this.holdNext -= 1;
        inbound.on('error', () => {});
        this.held.push(inbound);
        return;
      }
      const outbound = net.connect({ host: '127.0.0.1', port: this.targetPort });
      const pair: [net.Socket, net.Socket] = [inbound, outbound];
      this.pairs.add(pair);
      const forward = (to: net.Socket) => (d: Buffer) => {
        if (!this.blackHole) to.write(d);
      };
      inbound.on('data', forward(outbound));
      outbound.on('data', forward(inbound));
      const end = (): void => {
        inbound.destroy();
        outbound.destroy();
        this.pairs.delete(pair);
      };
      for (const s of pair) {
        s.on('error', end);
        s.on('close', end);
      }
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  get linkCount(): number {
    return this.pairs.size;
  }

  cut(): void {
    for (const socket of this.held) socket.destroy();
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
