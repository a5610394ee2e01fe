import fs from 'node:fs';
import net from 'node:net';
import { expect } from 'chai';
import { systemClock } from '../../../src/shared/clock';
import { IpcError, PersistenceError } from '../../../src/shared/errors';
import { EventLog } from '../../../src/shared/ipc/event-log';
import { isLoopbackHost } from '../../../src/shared/ipc/loopback';
import { PROTOCOL_VERSION, RpcErrorCode } from '../../../src/shared/ipc/protocol';
import { IpcServer } from '../../../src/shared/ipc/server';
import { silentLogger } from '../../../src/shared/logging/logger';
import { FakeClock, flush } from '../../support/fake-clock';
import {
  RawPeer,
  recordingClient,
  startTrading,
  tempDir,
  TOKEN,
  waitFor,
  type Trading,
} from '../../support/ipc';

function errorCode(msg: Record<string, unknown>): number | undefined {
  return (msg.error as { code?: number } | undefined)?.code;
}

describe('ipc/IpcServer', () => {
  let dir: string;
  let trading: Trading;
  const peers: RawPeer[] = [];

  async function peer(): Promise<RawPeer> {
    const p = await RawPeer.connect(trading.port);
    peers.push(p);
    return p;
  }

  beforeEach(async () => {
    dir = tempDir();
    trading = await startTrading(dir, { maxFrameBytes: 4096, maxClients: 3 });
    trading.server.handle('status', () => {
      throw new Error('disk path /secret/x exploded');
    });
    trading.server.handle('pause', (p) => {
      if (p.reason === 'persist')
        throw new PersistenceError('state not durable: ENOSPC', {}, { code: 'ENOSPC' });
      if (p.reason === 'refuse') throw new IpcError('already paused', {}, { code: RpcErrorCode.Refused });
      return { paused: true, reason: p.reason };
    });
  });

  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await trading.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers hello with its identity and then serves requests', async () => {
    const p = await peer();
    const hello = await p.hello();
    expect(hello.result).to.include({ server: 'trading', version: PROTOCOL_VERSION, pid: process.pid });
    p.request(1, 'ping', {});
    expect((await p.response(1)).result).to.have.property('pid', process.pid);
    p.request(2, 'ping'); // params may be omitted
    expect((await p.response(2)).result).to.have.property('now');
  });

  it('tells time by the clock it was given: ping answers its now, hello its start', async () => {
    const clock = new FakeClock(1_800_000_000_000);
    const ownDir = tempDir();
    const own = await startTrading(ownDir, { clock });
    const p = await RawPeer.connect(own.port);
    try {
      const hello = await p.hello();
      expect((hello.result as { startedAt: number }).startedAt).to.be.at.most(clock.now());
      expect((hello.result as { startedAt: number }).startedAt).to.be.greaterThan(clock.now() - 3_600_000);
      p.request(1, 'ping', {});
      expect((await p.response(1)).result).to.have.property('now', clock.now());
    } finally {
      p.destroy();
      await own.stop();
      fs.rmSync(ownDir, { recursive: true, force: true });
    }
  });

  it('refuses anything before hello with Unauthorized and closes', async () => {
    const p = await peer();
    p.request(7, 'ping', {});
    expect(errorCode(await p.response(7))).to.equal(RpcErrorCode.Unauthorized);
    await p.waitClosed();
  });

  it('refuses a wrong token with Unauthorized and closes', async () => {
    const p = await peer();
    const r = await p.hello('wrong-token');
    expect(errorCode(r)).to.equal(RpcErrorCode.Unauthorized);
    expect(JSON.stringify(r)).not.to.include(TOKEN);
    await p.waitClosed();
  });

  it('refuses another protocol version with VersionMismatch and closes', async () => {
    const p = await peer();
    const r = await p.hello(TOKEN, PROTOCOL_VERSION + 1);
    expect(errorCode(r)).to.equal(RpcErrorCode.VersionMismatch);
    expect(r.error).to.have.nested.property('data.serverVersion', PROTOCOL_VERSION);
    await p.waitClosed();
  });

  it('maps unknown methods, bad params, invalid JSON and handler failures to JSON-RPC errors and keeps serving', async () => {
    const p = await peer();
    await p.hello();
    p.request(1, 'withdrawAll', {});
    expect(errorCode(await p.response(1))).to.equal(RpcErrorCode.MethodNotFound);
    p.request(2, 'subscribe', { afterSeq: -1 });
    expect(errorCode(await p.response(2))).to.equal(RpcErrorCode.InvalidParams);
    p.request(3, 'pause', { reason: 42, extra: 1 });
    expect(errorCode(await p.response(3))).to.equal(RpcErrorCode.InvalidParams);
    p.write('{"jsonrpc":"2.0","id":4,"method":\n');
    expect(errorCode(await p.response(null))).to.equal(RpcErrorCode.ParseError);
    p.request(5, 'status', {});
    const internal = await p.response(5);
    expect(errorCode(internal)).to.equal(RpcErrorCode.InternalError);
    expect(JSON.stringify(internal)).not.to.include('/secret/x'); // details stay in the server log
    p.request(6, 'pause', { reason: 'persist' });
    const persist = await p.response(6);
    expect(errorCode(persist)).to.equal(RpcErrorCode.Refused);
    expect(persist.error).to.have.property('message').that.includes('ENOSPC');
    p.request(7, 'pause', { reason: 'refuse' });
    expect(errorCode(await p.response(7))).to.equal(RpcErrorCode.Refused);
    p.write('[{"jsonrpc":"2.0","id":8,"method":"ping"}]\n');
    expect(errorCode(await p.response(null))).to.equal(RpcErrorCode.InvalidRequest);
    p.request(9, 'hello', { token: TOKEN, version: PROTOCOL_VERSION, client: 'again' });
    expect(errorCode(await p.response(9))).to.equal(RpcErrorCode.InvalidRequest);
    p.request(10, 'pause', { reason: 'ok' });
    expect((await p.response(10)).result).to.deep.equal({ paused: true, reason: 'ok' });
    expect(p.closed).to.equal(false);
  });

  it('runs a notification without answering it, whatever its method does, and answers the requests around it', async () => {
    const reasons: string[] = [];
    trading.server.handle('resume', () => {
      reasons.push('resume');
      return { paused: false };
    });
    const p = await peer();
    await p.hello();
    // one chunk: answered ones written in the turn they were read (sync handlers) and kept in order with the rest
    p.write(
      [
        { jsonrpc: '2.0', id: 1, method: 'ping', params: {} },
        { jsonrpc: '2.0', method: 'resume', params: {} },
        { jsonrpc: '2.0', method: 'withdrawAll', params: {} },
        { jsonrpc: '2.0', method: 'status' },
        { jsonrpc: '2.0', method: 'pause', params: { reason: 'persist' } },
        { jsonrpc: '2.0', method: 'ping', params: { extra: 1 } },
        { jsonrpc: '2.0', id: 2, method: 'resume' },
      ]
        .map((m) => JSON.stringify(m) + '\n')
        .join(''),
    );
    expect((await p.response(2)).result).to.deep.equal({ paused: false });
    p.request(3, 'ping', {});
    await p.response(3);
    expect(reasons).to.deep.equal(['resume', 'resume']);
    expect(p.messages.map((m) => m.id)).to.deep.equal([1]); // the ping's answer only: no notification answered
    expect(p.closed).to.equal(false);
  });

  it('refuses a frame longer than maxFrameBytes with FrameTooLarge and closes, without waiting for a newline', async () => {
    const p = await peer();
    await p.hello();
    p.write(Buffer.alloc(4096 * 3, 0x61)); // no newline, ever
    expect(errorCode(await p.response(null))).to.equal(RpcErrorCode.FrameTooLarge);
    await p.waitClosed();
  });

  it('refuses clients beyond maxClients with TooManyClients and accepts again once one leaves', async () => {
    const held = [await peer(), await peer(), await peer()];
    for (const p of held) await p.hello();
    const extra = await peer();
    expect(errorCode(await extra.response(null))).to.equal(RpcErrorCode.TooManyClients);
    await extra.waitClosed();
    held[0].destroy();
    await waitFor('server to notice the departure', () => trading.server.clientCount === 2);
    const again = await peer();
    expect((await again.hello()).result).to.have.property('server', 'trading');
  });

  it('listen() on a port already in use fails with IpcError', async () => {
    const second = new IpcServer({
      host: '127.0.0.1',
      port: trading.port,
      token: TOKEN,
      maxFrameBytes: 1024,
      maxClients: 1,
      idleTimeoutMs: 1000,
      logger: silentLogger(),
      eventLog: trading.eventLog,
      clock: systemClock,
    });
    let error: unknown;
    await second.listen().catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(IpcError);
    expect(String(error)).to.match(/EADDRINUSE/);
    await second.close();
  });

  it('rejects handler registration for the built-in hello and subscribe', () => {
    expect(() => trading.server.handle('hello', () => ({}) as never)).to.throw(IpcError);
    expect(() => trading.server.handle('subscribe', () => ({}) as never)).to.throw(IpcError);
  });
});

describe('ipc/IpcServer event stream', () => {
  let dir: string;
  let trading: Trading;

  beforeEach(async () => {
    dir = tempDir();
    trading = await startTrading(dir, { retention: 50 });
  });

  afterEach(async () => {
    await trading.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers subscribe first, then replays, then streams live events, in seq order', async () => {
    for (let i = 0; i < 10; i++) await trading.eventLog.publish('order.placed', `o${i}`, {});
    const p = await RawPeer.connect(trading.port);
    try {
      await p.hello();
      p.request(1, 'subscribe', { afterSeq: 4 });
      await trading.eventLog.publish('order.filled', 'live', {});
      await waitFor('events', () => p.messages.filter((m) => m.method === 'event').length === 7);
      const stream = p.messages.filter((m) => m.id === 1 || m.method === 'event');
      expect(stream[0]).to.have.nested.property('result.replayed', 6);
      expect(stream.slice(1).map((m) => (m.params as { seq: number }).seq)).to.deep.equal([
        5, 6, 7, 8, 9, 10, 11,
      ]);
    } finally {
      p.destroy();
    }
  });

  it('drops a subscriber that stops reading and falls more than the retention behind; on return it learns what it missed', async () => {
    const slow = await RawPeer.connect(trading.port);
    await slow.hello();
    slow.request(1, 'subscribe', { afterSeq: 0 });
    await slow.response(1);
    slow.socket.pause(); // stops reading: kernel buffers fill, then the server's
    const big = 'x'.repeat(64 * 1024);
    // (A paused peer does not see the close until it reads again: watch the server side.)
    for (let i = 0; i < 40 && trading.server.clientCount > 0; i++) {
      await Promise.all(
        Array.from({ length: 25 }, () => trading.eventLog.publish('order.placed', 'big', { big })),
      );
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(trading.server.clientCount, 'dropped while still not reading').to.equal(0);
    slow.socket.resume();
    await slow.waitClosed();
    const received = slow.messages
      .filter((m) => m.method === 'event')
      .map((m) => (m.params as { seq: number }).seq);
    // What it did get has no gap and no reordering.
    expect(received).to.deep.equal(received.map((_, i) => i + 1));

    const back = await RawPeer.connect(trading.port);
    try {
      await back.hello();
      back.request(1, 'subscribe', { afterSeq: received.length });
      const r = (await back.response(1)).result as { missed: number; replayed: number; lastSeq: number };
      expect(r.replayed).to.equal(50);
      expect(r.missed).to.equal(r.lastSeq - 50 - received.length);
      expect(r.missed).to.be.greaterThan(0);
    } finally {
      back.destroy();
    }
  });
});

describe('ipc/IpcServer timeouts', () => {
  let dir: string;
  let trading: Trading;

  beforeEach(async () => {
    dir = tempDir();
    trading = await startTrading(dir, { idleTimeoutMs: 300, helloTimeoutMs: 150 });
  });

  afterEach(async () => {
    await trading.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('closes a connection that never says hello', async () => {
    const p = await RawPeer.connect(trading.port);
    await p.waitClosed();
  });

  it('closes an authenticated client that goes silent, while a client with heartbeats stays connected', async () => {
    const silent = await RawPeer.connect(trading.port);
    await silent.hello();
    const { client, links } = recordingClient(trading.port, { heartbeatMs: 50 });
    await client.connect();
    await silent.waitClosed();
    await new Promise((r) => setTimeout(r, 400));
    expect(client.connected).to.equal(true);
    expect(links).to.deep.equal([{ up: true, downtimeMs: 0 }]);
    await client.close();
  });
});

describe('ipc/IpcServer deadlines on its clock', () => {
  let dir: string;
  let clock: FakeClock;
  let trading: Trading;

  beforeEach(async () => {
    dir = tempDir();
    clock = new FakeClock();
    trading = await startTrading(dir, { clock, idleTimeoutMs: 300, helloTimeoutMs: 150 });
  });

  afterEach(async () => {
    await trading.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A peer whose connection the server has accepted (its hello deadline is armed on the clock). */
  const accepted = async (): Promise<RawPeer> => {
    const armed = clock.pendingTimers;
    const p = await RawPeer.connect(trading.port);
    await waitFor('the server to accept', () => clock.pendingTimers > armed);
    return p;
  };

  it('the hello deadline counts from accept: bytes before hello do not extend it', async () => {
    const prompt = await accepted();
    const stalling = await accepted();
    await clock.advance(100);
    stalling.write('{"jsonrpc":"2.0",');
    await clock.advance(49);
    expect((await prompt.hello()).result, 'a hello 1 ms before the deadline').to.include({
      server: 'trading',
    });
    expect(stalling.closed).to.equal(false);
    await clock.advance(1);
    await stalling.waitClosed();
    prompt.destroy();
  });

  it('closes an authenticated client idleTimeoutMs after its last chunk, not after its hello', async () => {
    const p = await accepted();
    await p.hello();
    await clock.advance(200);
    p.request(1, 'ping');
    await p.response(1);
    await clock.advance(250); // past hello + idleTimeoutMs, within the last chunk's
    p.request(2, 'ping');
    expect((await p.response(2)).result, 'still served').to.have.property('now', clock.now());
    await clock.advance(299);
    expect(p.closed).to.equal(false);
    await clock.advance(1);
    await p.waitClosed();
  });

  /** A peer that keeps its side open after the server's FIN, as a stuck client would: only a destroy ends it. */
  const halfOpen = async (
    port = trading.port,
  ): Promise<{ socket: net.Socket; ended: () => boolean; closed: () => boolean }> => {
    const armed = clock.pendingTimers;
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let ended = false;
    let closed = false;
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.on('end', () => (ended = true));
    socket.on('close', () => (closed = true));
    await new Promise((resolve) => socket.once('connect', resolve));
    await waitFor('the server to accept', () => clock.pendingTimers > armed);
    return { socket, ended: () => ended, closed: () => closed };
  };

  it('a refused peer that keeps its side open is destroyed CLOSE_GRACE_MS (1 s) after the refusal', async () => {
    const peer = await halfOpen();
    try {
      peer.socket.write('not json\n');
      await waitFor('the refusal', () => peer.ended());
      await clock.advance(999, 999);
      await flush();
      expect(trading.server.clientCount, 'kept through the grace').to.equal(1);
      await clock.advance(1, 1);
      await waitFor('the server to destroy the socket', () => trading.server.clientCount === 0);
    } finally {
      peer.socket.destroy();
    }
  });

  it('a peer refused as one client too many, keeping its side open, is destroyed 1 s after the refusal', async () => {
    const ownDir = tempDir();
    const own = await startTrading(ownDir, { clock, maxClients: 1 });
    const first = await RawPeer.connect(own.port);
    try {
      await first.hello();
      const extra = await halfOpen(own.port);
      await waitFor('the refusal', () => extra.ended());
      // the server's side of a half-open socket is seen through writes: taken while open, reset once destroyed
      const probe = (): boolean => {
        extra.socket.write('x');
        return extra.closed();
      };
      await clock.advance(999, 999);
      for (let i = 0; i < 5; i++) {
        probe();
        await flush();
      }
      expect(extra.closed(), 'kept through the grace').to.equal(false);
      await clock.advance(1, 1);
      await waitFor('the server to destroy the socket', probe);
    } finally {
      first.destroy();
      await own.stop();
      fs.rmSync(ownDir, { recursive: true, force: true });
    }
  });
});

describe('ipc/IpcServer loopback only', () => {
  let dir: string;
  let eventLog: EventLog;

  before(async () => {
    dir = tempDir();
    eventLog = await EventLog.open(dir, { retention: 10, clock: systemClock });
  });

  after(async () => {
    await eventLog.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const base = () => ({
    port: 0,
    token: TOKEN,
    maxFrameBytes: 1024,
    maxClients: 2,
    idleTimeoutMs: 1000,
    logger: silentLogger(),
    eventLog,
    clock: systemClock,
  });

  for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '']) {
    it(`refuses to bind to "${host}"`, () => {
      expect(() => new IpcServer({ ...base(), host })).to.throw(IpcError, /loopback only/);
    });
  }

  for (const host of ['127.0.0.1', 'localhost', '::1']) {
    it(`listens on loopback "${host}" and a client connects`, async () => {
      const server = new IpcServer({ ...base(), host });
      let port: number;
      try {
        ({ port } = await server.listen());
      } catch (err) {
        if (host === '::1' && /EADDRNOTAVAIL|EAFNOSUPPORT/.test(String(err))) return; // no IPv6 on this host
        throw err;
      }
      const { client } = recordingClient(port, { host });
      try {
        await client.connect();
        expect((await client.call('ping', {})).pid).to.equal(process.pid);
      } finally {
        await client.close();
        await server.close();
      }
    });
  }

  it('recognises loopback addresses and nothing else', () => {
    for (const h of [
      '127.0.0.1',
      '127.8.9.10',
      'localhost',
      'LOCALHOST',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(h), h).to.equal(true);
    }
    for (const h of [
      '0.0.0.0',
      '::',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      'localhost.evil.com',
      '1.127.0.0',
      '',
    ]) {
      expect(isLoopbackHost(h), h).to.equal(false);
    }
  });
});
