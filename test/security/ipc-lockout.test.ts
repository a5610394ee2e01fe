/**
 * Issue 12 holes 1, 2 and 9 on the real TCP layer (real sockets on loopback): sockets without a token cannot
 * lock real clients out, an unread flood of requests costs bounded memory, telegram's hang watch tells "locked
 * out" from "hung", and a burst of refusals writes one log line.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import { systemClock } from '../../src/shared/clock';
import { PROTOCOL_VERSION, type PositionView } from '../../src/shared/ipc/protocol';
import type { NotificationInput } from '../../src/telegram/notify/notification';
import { HangWatch } from '../../src/telegram/supervisor/hang-watch';
import { silentLogger } from '../../src/shared/logging/logger';
import { captureLogger } from '../support/capture-logger';
import {
  RawPeer,
  recordingClient,
  startTrading,
  tempDir,
  TOKEN,
  waitFor,
  type Trading,
} from '../support/ipc';

describe('TCP layer under hostile local peers', function () {
  this.timeout(60_000);
  let dir: string;
  let trading: Trading;
  const cleanups: Array<() => unknown> = [];

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await trading?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('16 sockets trickling "\\n" without a token neither lock a real client out nor outlive the hello deadline; one log line for the burst', async () => {
    const { logger, lines } = captureLogger();
    trading = await startTrading(dir, { maxClients: 16, helloTimeoutMs: 800, logger });
    const tricklers: RawPeer[] = [];
    for (let i = 0; i < 16; i++) tricklers.push(await RawPeer.connect(trading.port));
    const trickle = setInterval(() => {
      for (const t of tricklers) t.write('\n');
    }, 100);
    cleanups.push(
      () => clearInterval(trickle),
      () => tricklers.forEach((t) => t.destroy()),
    );

    const { client } = recordingClient(trading.port, { client: 'telegram' });
    cleanups.push(() => client.close());
    await client.connect();
    expect(await client.call('ping', {})).to.have.property('pid', process.pid);

    // bytes before hello do not extend the deadline: every trickler is gone although it never stopped sending
    await waitFor('every trickler closed', () => tricklers.every((t) => t.closed), 10_000);
    expect(client.connected).to.equal(true);
    const refusals = lines.filter((l) => l.message === 'IPC connection refused');
    expect(refusals, JSON.stringify(refusals)).to.have.length(1);
  });

  it('refusals from many loopback source addresses (all of 127.0.0.0/8 is local) write a bounded number of lines', async () => {
    // One line per peer per minute bounds a flood from one address; but a local process may bind its sockets to any
    // of 127.0.0.0/8's 16 million addresses, each a new "peer". 200 such peers without a token: the log must stay
    // readable (a few lines; the next one counts what was not logged: refusal-log.test), not grow with the
    // addresses. On main: a line per address (196 for 200).
    const { logger, lines } = captureLogger();
    trading = await startTrading(dir, { maxClients: 4, helloTimeoutMs: 500, logger });
    const peers = 200;
    await Promise.all(
      Array.from(
        { length: peers },
        (_, i) =>
          new Promise<void>((resolve) => {
            const socket = net.connect({
              host: '127.0.0.1',
              port: trading.port,
              localAddress: `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
            });
            socket.on('error', () => undefined);
            socket.on('close', () => resolve());
            socket.resume();
            cleanups.push(() => socket.destroy());
          }),
      ),
    );
    // every one refused: evicted by the next ones, the last few at the hello deadline
    const refusals = lines.filter((l) => l.message === 'IPC connection refused');
    expect(refusals.length, `${refusals.length} refusal lines for ${peers} peers`).to.be.at.most(10);
  });

  it('an unread flood of requests is not read past the in-flight cap: bounded memory, nothing dropped, every answer arrives', async () => {
    trading = await startTrading(dir, { maxClients: 4, logger: silentLogger() });
    let running = 0;
    let maxRunning = 0;
    let handled = 0;
    const bigAnswer: PositionView[] = Array.from({ length: 60 }, (_, i) => ({
      symbol: `SYM${i}/USDT`,
      amount: i,
      averageEntryPrice: 1,
      unrealizedPnl: 0,
      realizedPnl: 0,
      feesPaid: 0,
      openedAt: 0,
    }));
    trading.server.handle('positions', async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setImmediate(r));
      running--;
      handled++;
      return bigAnswer;
    });

    const socket = net.connect({ host: '127.0.0.1', port: trading.port });
    cleanups.push(() => socket.destroy());
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'hello',
        params: { token: TOKEN, version: PROTOCOL_VERSION, client: 'flood' },
      }) + '\n',
    );
    socket.pause(); // never read while flooding

    const rssBefore = process.memoryUsage().rss;
    const total = 5_000;
    let sent = 0;
    let peakRss = rssBefore;
    // write until all are out or the server stops reading (our writes then stay queued: back-pressure)
    while (sent < total) {
      let batch = '';
      for (let i = 0; i < 500 && sent < total; i++, sent++)
        batch += JSON.stringify({ jsonrpc: '2.0', id: sent + 1, method: 'positions' }) + '\n';
      const flushed = socket.write(batch);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (!flushed) {
        const drained = await Promise.race([
          new Promise<boolean>((r) => socket.once('drain', () => r(true))),
          new Promise<boolean>((r) => setTimeout(() => r(false), 1_000)),
        ]);
        if (!drained) break;
      }
    }
    // the server stops reading once its unsent answers pass the high-water mark: `handled` stops growing
    let seen = -1;
    while (seen !== handled) {
      seen = handled;
      await new Promise((r) => setTimeout(r, 300));
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    expect(maxRunning, 'requests handled at once').to.be.at.most(32);
    expect(handled, 'the server stopped reading before the end of the flood').to.be.lessThan(total);
    const growthMiB = Math.round((peakRss - rssBefore) / 1024 / 1024);
    console.log(
      `      unread flood: ${sent} requests written, ${handled} handled before reading stopped, RSS +${growthMiB} MiB (peak ${Math.round(peakRss / 1024 / 1024)} MiB)`,
    );
    expect(growthMiB).to.be.lessThan(200);

    // now read: every request sent gets its answer, in order, on the same connection
    let buffered = '';
    let answers = 0;
    let lastId = 0;
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffered.slice(0, nl)) as { id: number; result?: unknown };
        buffered = buffered.slice(nl + 1);
        if (msg.id === 0) continue;
        expect(msg.id).to.equal(lastId + 1);
        lastId = msg.id;
        answers++;
      }
    });
    socket.resume();
    // the rest of the flood goes out as the server reads again
    while (sent < total) {
      let batch = '';
      for (let i = 0; i < 500 && sent < total; i++, sent++)
        batch += JSON.stringify({ jsonrpc: '2.0', id: sent + 1, method: 'positions' }) + '\n';
      if (!socket.write(batch)) await new Promise((r) => socket.once('drain', r));
    }
    await waitFor('every answer', () => answers === total, 30_000);
    expect(socket.destroyed).to.equal(false);
  });

  it('hang watch: a trading that refuses telegram (too many clients) is reported locked out, never restarted as hung', async () => {
    trading = await startTrading(dir, { maxClients: 1, logger: silentLogger() });
    const holder = recordingClient(trading.port, { client: 'someone-else' }).client;
    cleanups.push(() => holder.close());
    await holder.connect();

    const { client } = recordingClient(trading.port, { client: 'telegram' });
    cleanups.push(() => client.close());
    await client.connect().catch(() => undefined);
    await waitFor('a refusal', () => client.lastRefusal !== null);

    const notes: NotificationInput[] = [];
    let restarts = 0;
    const watch = new HangWatch({
      ping: () => client.call('ping', {}),
      lastRefusal: () => client.lastRefusal,
      status: () => 'online',
      restart: async () => {
        restarts++;
      },
      markHangRestart: () => undefined,
      notifier: { notify: async (n: NotificationInput) => void notes.push(n), pending: () => 0 } as never,
      hangTimeoutMs: 30,
      action: 'restart',
      intervalMs: 1_000,
      logger: silentLogger(),
      clock: systemClock,
    });
    // longer than the hang timeout between checks; each connection attempt is refused afresh, as the client's
    // reconnects are in production
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 40));
      await client.connect().catch(() => undefined);
      await watch.check();
    }
    expect(restarts).to.equal(0);
    expect(notes.map((n) => n.key)).to.deep.equal(['locked-out:trading']);
    expect(notes[0].text).to.include('locked out').and.include('Too many clients');

    // the same watch with trading really silent (nothing answers at all) still declares the hang
    await trading.stop();
    await holder.close();
    await new Promise((r) => setTimeout(r, 40));
    const silent = new HangWatch({
      ping: () => client.call('ping', {}),
      lastRefusal: () => null,
      status: () => 'online',
      restart: async () => {
        restarts++;
      },
      markHangRestart: () => undefined,
      notifier: { notify: async (n: NotificationInput) => void notes.push(n), pending: () => 0 } as never,
      hangTimeoutMs: 30,
      action: 'restart',
      intervalMs: 1_000,
      logger: silentLogger(),
      clock: systemClock,
    });
    await silent.check();
    await new Promise((r) => setTimeout(r, 40));
    await silent.check();
    expect(restarts).to.equal(1);
  });
});
