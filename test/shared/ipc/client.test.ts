import net from 'node:net';
import fs from 'node:fs';
import { expect } from 'chai';
import type { CancelTimer } from '../../../src/shared/clock';
import { systemClock } from '../../../src/shared/clock';
import { IpcError, IpcTimeoutError } from '../../../src/shared/errors';
import type { IpcClient } from '../../../src/shared/ipc/client';
import { EventLog } from '../../../src/shared/ipc/event-log';
import { RpcErrorCode, type TradingEvent } from '../../../src/shared/ipc/protocol';
import {
  MemoryCursor,
  recordingClient,
  startTrading,
  TcpProxy,
  tempDir,
  TOKEN,
  waitFor,
  type Trading,
} from '../../support/ipc';
import { FakeClock } from '../../support/fake-clock';

function seqs(events: TradingEvent[]): number[] {
  return events.map((e) => e.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function publish(trading: { eventLog: EventLog }, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await trading.eventLog.publish('order.placed', `order ${i}`, { i });
}

/**
 * A fake clock that also lists the re-dial delays the client arms (the heartbeat and the request deadline are set
 * far out and left out).
 */
const HEARTBEAT_OFF = 3_600_000;
class TimerLog extends FakeClock {
  readonly redials: number[] = [];
  override timer(ms: number, fn: () => void): CancelTimer {
    if (ms !== HEARTBEAT_OFF) this.redials.push(ms);
    return super.timer(ms, fn);
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('ipc/IpcClient', () => {
  let dir: string;
  let trading: Trading | undefined;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await trading?.stop();
    trading = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function track<T extends { close(): Promise<void> }>(x: T): T {
    cleanups.push(() => x.close());
    return x;
  }

  /**
   * A client of trading on a fake clock (requests time out after 1 s, no heartbeat), connected; `record` notes each
   * call's outcome in the order they come: "<name> answered", "<name> timed out: <message>" (IpcTimeoutError) or
   * "<name> failed: <message>".
   */
  async function fakeClockCaller(port: number): Promise<{
    client: IpcClient;
    clock: FakeClock;
    outcomes: string[];
    record: (name: string, call: Promise<unknown>) => void;
  }> {
    const clock = new FakeClock();
    const { client } = recordingClient(port, { clock, requestTimeoutMs: 1_000, heartbeatMs: HEARTBEAT_OFF });
    track(client);
    await client.connect();
    const outcomes: string[] = [];
    const record = (name: string, call: Promise<unknown>): void =>
      void call.then(
        () => outcomes.push(`${name} answered`),
        (err: Error) =>
          outcomes.push(`${name} ${err instanceof IpcTimeoutError ? 'timed out' : 'failed'}: ${err.message}`),
      );
    return { client, clock, outcomes, record };
  }

  it('round trip: connects, says hello and calls a method', async () => {
    trading = await startTrading(dir);
    trading.server.handle('pause', (p) => ({ paused: true, reason: p.reason }));
    const { client, links } = recordingClient(trading.port);
    track(client);
    await client.connect();
    expect(client.connected).to.equal(true);
    expect(links).to.deep.equal([{ up: true, downtimeMs: 0 }]);
    expect((await client.call('ping', {})).pid).to.equal(process.pid);
    expect(await client.call('pause', { reason: 'manual' })).to.deep.equal({
      paused: true,
      reason: 'manual',
    });
  });

  it('carries the server error code on refusals (typed IpcError)', async () => {
    trading = await startTrading(dir);
    const { client } = recordingClient(trading.port);
    track(client);
    await client.connect();
    const err = await rejection(client.call('positions', {}));
    expect(err).to.be.instanceOf(IpcError);
    expect((err as IpcError).code).to.equal(RpcErrorCode.MethodNotFound);
    expect(client.connected).to.equal(true);
  });

  it('connect() rejects with the server reason on a wrong token (Unauthorized)', async () => {
    trading = await startTrading(dir);
    const { client, links } = recordingClient(trading.port, { token: 'not-the-token', reconnect: false });
    track(client);
    const err = await rejection(client.connect());
    expect(err).to.be.instanceOf(IpcError);
    expect((err as Error).message).to.match(/wrong token/);
    expect(links).to.have.length(1);
    expect(links[0]).to.include({ up: false });
  });

  it('call() while disconnected fails fast with IpcError instead of queueing', async () => {
    trading = await startTrading(dir);
    const port = trading.port;
    await trading.stop();
    trading = undefined;
    const { client } = recordingClient(port);
    track(client);
    const connectErr = await rejection(client.connect());
    expect(connectErr).to.be.instanceOf(IpcError);
    expect((connectErr as Error).message).to.match(/refused/);
    const callErr = await rejection(client.call('ping', {}));
    expect(callErr).to.be.instanceOf(IpcError);
    expect((callErr as IpcError).context).to.include({ link: 'down' });
  });

  it('a socket cut mid-request rejects the pending call with IpcError at once (no hang, no timeout wait)', async () => {
    trading = await startTrading(dir);
    let release: (() => void) | undefined;
    trading.server.handle(
      'reconcile',
      () => new Promise((resolve) => (release = () => resolve({ differences: [], checkedAt: 1 }))),
    );
    const proxy = track(new TcpProxy(trading.port));
    await proxy.listen();
    // A request timeout far beyond the mocha timeout: only the cut can settle the call in time.
    const { client, links } = recordingClient(proxy.port, { requestTimeoutMs: 60_000 });
    track(client);
    await client.connect();
    const pending = client.call('reconcile', {});
    await waitFor('handler to start', () => release !== undefined);
    proxy.cut();
    const err = await rejection(pending);
    expect(err).to.be.instanceOf(IpcError);
    expect((err as Error).message).to.match(/link down/);
    expect((err as IpcError).code).to.equal(undefined);
    release!();
    await waitFor('reconnect', () => client.connected);
    expect(links.map((l) => l.up)).to.deep.equal([true, false, true]);
  });

  it('a request without an answer rejects after requestTimeoutMs with IpcError', async () => {
    trading = await startTrading(dir);
    trading.server.handle('balance', () => new Promise(() => undefined));
    const { client } = recordingClient(trading.port, { requestTimeoutMs: 150, heartbeatMs: 10_000 });
    track(client);
    await client.connect();
    const err = await rejection(client.call('balance', {}));
    expect(err).to.be.instanceOf(IpcError);
    expect((err as Error).message).to.match(/no answer within 150 ms/);
    expect(client.connected).to.equal(true);
  });

  it('each request times out on the injected clock at its own deadline, answered ones never', async () => {
    trading = await startTrading(dir);
    trading.server.handle('balance', () => new Promise(() => undefined));
    const { client, clock, outcomes, record } = await fakeClockCaller(trading.port);
    record('first', client.call('balance', {}));
    await clock.advance(400);
    record('second', client.call('balance', {}));
    record('ping', client.call('ping', {}));
    await waitFor('the ping answered', () => outcomes.length === 1);
    await clock.advance(599);
    expect(outcomes).to.deep.equal(['ping answered']);
    await clock.advance(1);
    await waitFor('the first timed out', () => outcomes.length === 2);
    expect(outcomes[1]).to.equal('first timed out: balance: no answer within 1000 ms');
    await clock.advance(399);
    expect(outcomes).to.have.length(2);
    await clock.advance(1);
    await waitFor('the second timed out', () => outcomes.length === 3);
    expect(outcomes[2]).to.equal('second timed out: balance: no answer within 1000 ms');
    expect(client.connected).to.equal(true);
  });

  it("a method trading's hello gives a longer answer timeout waits that long (IpcTimeoutError after it), the others requestTimeoutMs", async () => {
    trading = await startTrading(dir, { answerTimeoutsMs: { closeAll: 5_000 } });
    trading.server.handle('closeAll', () => new Promise(() => undefined));
    trading.server.handle('balance', () => new Promise(() => undefined));
    const { client, clock, outcomes, record } = await fakeClockCaller(trading.port);
    record('closeAll', client.call('closeAll', {}));
    record('balance', client.call('balance', {}));
    await clock.advance(1_000);
    await waitFor('the balance timed out', () => outcomes.length === 1);
    expect(outcomes).to.deep.equal(['balance timed out: balance: no answer within 1000 ms']);
    await clock.advance(3_999);
    expect(outcomes).to.have.length(1);
    await clock.advance(1);
    await waitFor('the close-all timed out', () => outcomes.length === 2);
    expect(outcomes[1]).to.equal('closeAll timed out: closeAll: no answer within 5000 ms');
    expect(client.connected).to.equal(true);
  });

  it('an operator action given up still takes its late answer on the same link (IpcTimeoutError.late)', async () => {
    let answer!: (r: unknown) => void;
    trading = await startTrading(dir, { answerTimeoutsMs: { closeAll: 200 } });
    trading.server.handle('closeAll', () => new Promise((r) => (answer = r)) as never);
    const { client } = recordingClient(trading.port, { requestTimeoutMs: 100, heartbeatMs: 10_000 });
    track(client);
    await client.connect();
    const err = await rejection(client.call('closeAll', {}));
    expect(err).to.be.instanceOf(IpcTimeoutError);
    const late = (err as IpcTimeoutError).late;
    expect(late, 'a late answer is awaited').to.not.equal(undefined);
    const result = { orders: ['bot-1'], cancelled: [], skipped: [], paused: true };
    answer(result);
    expect(await late).to.deep.equal(result);
    // a request with the connection's own timeout has no late answer
    trading.server.handle('balance', () => new Promise(() => undefined));
    expect(((await rejection(client.call('balance', {}))) as IpcTimeoutError).late).to.equal(undefined);
  });

  /**
   * A client of a trading that is gone, on a clock that moves only when the test says: its first attempt refused,
   * then three re-dials, each a backoff step later (jitter pinned to the top: each wait is the whole step, 20 ms
   * doubling, recordingClient's policy); the fourth waits 160 ms of that clock.
   */
  async function clientInBackoff(): Promise<
    { port: number; clock: TimerLog } & ReturnType<typeof recordingClient>
  > {
    trading = await startTrading(dir);
    const port = trading.port;
    await trading.stop();
    trading = undefined;
    const clock = new TimerLog();
    const recording = recordingClient(port, {
      clock,
      random: () => 1,
      heartbeatMs: HEARTBEAT_OFF,
      requestTimeoutMs: HEARTBEAT_OFF,
    });
    track(recording.client);
    expect((await rejection(recording.client.connect())) as Error).to.be.instanceOf(IpcError);
    expect(clock.redials).to.deep.equal([20]);
    for (let i = 0; i < 3; i++) {
      await clock.advance(clock.redials.at(-1)!);
      await waitFor('the next re-dial', () => clock.redials.length === i + 2);
    }
    expect(clock.redials).to.deep.equal([20, 40, 80, 160]);
    return { port, clock, ...recording };
  }

  it('re-dials on the injected clock with the one backoff, from its first step again once the link was up', async () => {
    const { port, clock, client, links } = await clientInBackoff();

    trading = await startTrading(dir, { port });
    await clock.advance(160);
    await waitFor('link up', () => client.connected);
    await trading.stop(); // the link is lost: the next wait is the first step again
    trading = undefined;
    await waitFor('a re-dial after the lost link', () => clock.redials.length === 5);
    expect(clock.redials[4]).to.equal(20);
    expect(links).to.deep.equal([
      { up: false, reason: 'connection refused (trading not listening)' },
      { up: true, downtimeMs: 20 + 40 + 80 + 160 }, // the clock's time, not the wall clock's
      { up: false, reason: 'connection closed by trading' },
    ]);
  });

  it('peerReady: a re-dial waiting out its backoff goes at once when the peer says it listens again', async () => {
    const { port, clock, client, links } = await clientInBackoff();
    // the next attempt is 160 ms of the client's clock away, which never moves again: only peerReady dials now
    trading = await startTrading(dir, { port });
    client.peerReady();
    await waitFor('link up', () => client.connected);
    expect(links.at(-1)).to.include({ up: true });
    // the retry it brought forward was cancelled, and once up there is nothing to bring forward: no other dial
    client.peerReady();
    await clock.advance(160);
    await new Promise((r) => setTimeout(r, 50));
    expect(clock.redials).to.deep.equal([20, 40, 80, 160]);
    expect(links).to.have.length(2);
    expect(client.connected).to.equal(true);
  });

  /**
   * A client (its clock never advanced: a backoff step would never end) whose first attempt reaches a proxy that holds
   * it unanswered; trading hears it say ready meanwhile (peerReady), then that attempt fails.
   */
  async function readyDuringAFailedAttempt(
    onLink?: (client: IpcClient, change: { up: boolean }) => void,
  ): Promise<{ clock: TimerLog } & ReturnType<typeof recordingClient>> {
    trading = await startTrading(dir);
    const proxy = track(new TcpProxy(trading.port));
    proxy.holdNext = 1;
    await proxy.listen();
    const clock = new TimerLog();
    const recording = recordingClient(proxy.port, {
      clock,
      heartbeatMs: HEARTBEAT_OFF,
      requestTimeoutMs: HEARTBEAT_OFF,
    });
    track(recording.client);
    if (onLink) recording.client.on('link', (change: { up: boolean }) => onLink(recording.client, change));
    const first = recording.client.connect();
    await waitFor('the first attempt held', () => proxy.held.length === 1);
    recording.client.peerReady();
    proxy.held[0].destroy();
    expect((await rejection(first)) as Error).to.be.instanceOf(IpcError);
    return { clock, ...recording };
  }

  it('peerReady while an attempt runs: when that attempt fails, the next goes at once, not after a backoff', async () => {
    const { clock, client, links } = await readyDuringAFailedAttempt();
    await waitFor('link up', () => client.connected);
    expect(clock.redials).to.deep.equal([]);
    expect(links.map((l) => l.up)).to.deep.equal([false, true]);
  });

  it("close() from a link listener, while a failed attempt's next goes at once, waits for that next one's socket", async () => {
    // every socket the client opens, and whether it is closed
    const sockets: Array<{ port: unknown; closed: boolean }> = [];
    const realConnect = net.connect;
    const connect = (...args: Parameters<typeof net.connect>): net.Socket => {
      const socket = realConnect(...args);
      const seen = { port: (args[0] as { port?: unknown }).port, closed: false };
      socket.once('close', () => (seen.closed = true));
      sockets.push(seen);
      return socket;
    };
    (net as { connect: typeof net.connect }).connect = connect as typeof net.connect;
    cleanups.push(() => void ((net as { connect: typeof net.connect }).connect = realConnect));
    let closing: Promise<void> | undefined;
    // the app closes the client as it hears the link is down: in the step whose effects go on with a re-dial
    await readyDuringAFailedAttempt((client, change) => {
      if (!change.up) closing ??= client.close();
    });
    expect(closing).to.not.equal(undefined);
    await closing;
    // the client's two sockets — the held attempt's, and the one that went at once after it, ended by the close —
    // are closed when it resolves (not the proxy's own to trading)
    const clients = sockets.filter((s) => s.port !== trading!.port).map((s) => s.closed);
    expect(clients).to.deep.equal([true, true]);
  });

  it('heartbeat detects a link that silently stops carrying data, drops it and re-dials', async () => {
    trading = await startTrading(dir);
    const proxy = track(new TcpProxy(trading.port));
    await proxy.listen();
    const { client, links } = recordingClient(proxy.port, { requestTimeoutMs: 200, heartbeatMs: 50 });
    track(client);
    await client.connect();
    proxy.blackHole = true;
    await waitFor('link down', () => links.length === 2);
    expect(links[1]).to.include({ up: false });
    expect(links[1].reason).to.match(/heartbeat/);
    proxy.blackHole = false;
    await waitFor('link up again', () => links.length === 3 && client.connected);
    expect(links[2].up).to.equal(true);
  });

  it('server restart: link down then up exactly once each, and the stream resumes with nothing lost or doubled', async () => {
    trading = await startTrading(dir);
    const port = trading.port;
    const cursor = new MemoryCursor();
    const { client, links, events } = recordingClient(port, { cursor });
    track(client);
    client.on('event', (e: TradingEvent) => void client.ack(e.seq));
    await client.connect();
    await publish(trading, 5);
    await waitFor('first events', () => events.length === 5);

    // Trading goes away; the event log is reopened from disk by the "new" trading process.
    await trading.stop();
    trading = undefined;
    await waitFor('link down', () => links.length === 2);
    const eventLog = await EventLog.open(dir, { retention: 1_000, clock: systemClock });
    expect(eventLog.lastSeq).to.equal(5);
    for (let i = 0; i < 5; i++) await eventLog.publish('order.filled', `while down ${i}`, {});
    await eventLog.close();
    // Let several reconnect attempts fail: they must not add link events.
    await new Promise((r) => setTimeout(r, 300));

    trading = await startTrading(dir, { port });
    await waitFor('link up', () => links.length === 3 && client.connected);
    await publish(trading, 2);
    await waitFor('all events', () => events.length >= 12);
    await new Promise((r) => setTimeout(r, 50));

    expect(links.map((l) => l.up)).to.deep.equal([true, false, true]);
    expect(links[1].reason).to.be.a('string');
    expect(links[2].downtimeMs).to.be.a('number').and.to.be.greaterThan(0);
    expect(seqs(events)).to.deep.equal(range(1, 12));
    await waitFor('cursor saved', () => cursor.seq === 12);
  });

  it('events published while the client is away are all delivered when it returns (new process, durable cursor)', async () => {
    trading = await startTrading(dir);
    const cursor = new MemoryCursor();
    const first = recordingClient(trading.port, { cursor });
    first.client.on('event', (e: TradingEvent) => {
      if (e.seq <= 3) void first.client.ack(e.seq); // "crashes" after handling 4 and 5 but before recording them
    });
    await first.client.connect();
    await publish(trading, 5);
    await waitFor('first events', () => first.events.length === 5);
    await first.client.close();

    await publish(trading, 5); // 6..10 while the client is gone
    const second = recordingClient(trading.port, { cursor });
    track(second.client);
    second.client.on('event', (e: TradingEvent) => void second.client.ack(e.seq));
    await second.client.connect();
    await waitFor('replay', () => second.events.length === 7);
    // At least once: 4 and 5 were never recorded as handled, so they come again; nothing is skipped.
    expect(seqs(second.events)).to.deep.equal(range(4, 10));
    await waitFor('cursor saved', () => cursor.seq === 10);
  });

  it('a reconnect that replays from a lagging cursor emits no event twice in the same process (dedup by seq)', async () => {
    trading = await startTrading(dir);
    const proxy = track(new TcpProxy(trading.port));
    await proxy.listen();
    const cursor = new MemoryCursor(); // never saved: every reconnect replays from 0
    const { client, events } = recordingClient(proxy.port, { cursor });
    track(client);
    await client.connect();
    await publish(trading, 20);
    await waitFor('events', () => events.length === 20);
    for (let round = 0; round < 3; round++) {
      proxy.cut();
      await waitFor('reconnected', () => !client.connected);
      await waitFor('reconnected', () => client.connected);
      await publish(trading, 2);
    }
    await waitFor('all events', () => events.length >= 26);
    await new Promise((r) => setTimeout(r, 50));
    expect(seqs(events)).to.deep.equal(range(1, 26));
  });

  it('tells the app how many events were trimmed while it was away (missed), then delivers the rest', async () => {
    trading = await startTrading(dir, { retention: 5 });
    await publish(trading, 20);
    const cursor = new MemoryCursor(2);
    const { client, events } = recordingClient(trading.port, { cursor });
    track(client);
    const missed: Array<{ count: number; afterSeq: number }> = [];
    client.on('missed', (m: { count: number; afterSeq: number }) => missed.push(m));
    await client.connect();
    await waitFor('events', () => events.length === 5);
    expect(missed).to.deep.equal([{ count: 13, afterSeq: 2 }]);
    expect(seqs(events)).to.deep.equal(range(16, 20));
  });

  it('after trading lost its event log (cursor ahead), drops the dedup floor and delivers the new stream', async () => {
    trading = await startTrading(dir);
    await publish(trading, 3);
    const cursor = new MemoryCursor(40);
    const { client, events } = recordingClient(trading.port, { cursor });
    track(client);
    const resets: unknown[] = [];
    client.on('streamReset', (r: unknown) => resets.push(r));
    client.on('event', (e: TradingEvent) => void client.ack(e.seq));
    await client.connect();
    await waitFor('events', () => events.length === 3);
    expect(resets).to.deep.equal([{ afterSeq: 40, lastSeq: 3 }]);
    expect(seqs(events)).to.deep.equal([1, 2, 3]);
    await waitFor('cursor follows the new stream', () => cursor.seq === 3);
  });

  it('ack() saves the cursor in order, never backwards, and one failed save does not block later ones', async () => {
    trading = await startTrading(dir);
    const saved: number[] = [];
    let failNext = false;
    const cursor = {
      load: () => 0,
      save: async (seq: number) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        saved.push(seq);
      },
    };
    const { client } = recordingClient(trading.port, { cursor });
    track(client);
    await client.connect();
    await client.ack(2);
    await client.ack(1); // older: ignored
    failNext = true;
    expect(await rejection(client.ack(3))).to.have.property('message', 'disk full');
    await client.ack(4);
    expect(saved).to.deep.equal([2, 4]);
  });

  it('refuses app calls to the methods it drives itself and closes idempotently', async () => {
    trading = await startTrading(dir);
    const { client } = recordingClient(trading.port);
    await client.connect();
    expect(await rejection(client.call('subscribe', { afterSeq: 0 }))).to.be.instanceOf(IpcError);
    expect(await rejection(client.call('hello', { token: TOKEN, version: 1, client: 'x' }))).to.be.instanceOf(
      IpcError,
    );
    await Promise.all([client.close(), client.close()]);
    expect(client.connected).to.equal(false);
    expect(await rejection(client.call('ping', {}))).to.be.instanceOf(IpcError);
    expect(await rejection(client.connect())).to.be.instanceOf(IpcError);
  });
});
