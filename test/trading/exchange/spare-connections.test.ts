/**
 * Connections opened ahead for ccxt's HTTP client: real sockets to a real local server (the connector alone), then
 * real ccxt Binance through the latency proxy (what the start's second batch of reads finds open). Counts only.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import { LatencyProxy } from '../../../harness/latency-proxy';
import { REPO_ROOT } from '../../../harness/pm2';
import {
  SpareConnections,
  type ConnectOptions,
  type Connector,
  type SpareConnectionOptions,
} from '../../../src/trading/exchange/spare-connections';
import { loadCcxtClass } from '../../../src/trading/exchange/ccxt-exchange';
import { EXCHANGE_PROFILES } from '../../../src/trading/exchange/profiles';
import { systemClock } from '../../../src/shared/clock';
import { FakeClock } from '../../support/fake-clock';
import { kitCcxtExchange } from '../../support/live-engine';

const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'BNB/USDT', 'XRP/USDT'];

/** The shape of undici's own connector: a plain TCP connection, handed over once connected. */
const plainConnect: Connector = (options, callback) => {
  const socket = net.connect(Number(options.port), options.hostname);
  socket.once('connect', () => callback(null, socket));
  socket.on('error', (err) => callback(err));
  return socket;
};

/** Spares on the real clock unless `opts` gives one (the tests about their deadlines pass a fake clock). */
const withSpareConnections = (
  connect: Connector,
  opts: Omit<SpareConnectionOptions, 'clock'> & { clock?: SpareConnectionOptions['clock'] },
): Connector => new SpareConnections({ clock: systemClock, ...opts }).connector(connect);

function connectVia(connect: Connector, options: ConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) =>
    connect(options, (err, socket) => (err || !socket ? reject(err) : resolve(socket))),
  );
}

describe('spare connections (real sockets)', () => {
  let server: net.Server;
  let accepted: net.Socket[];
  let closed: number;
  let options: ConnectOptions;
  const mine: net.Socket[] = [];

  beforeEach(async () => {
    accepted = [];
    closed = 0;
    server = net.createServer((s) => {
      accepted.push(s);
      s.on('close', () => (closed += 1));
      s.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    options = { protocol: 'http:', hostname: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
  });

  afterEach(async () => {
    for (const s of [...mine, ...accepted]) s.destroy();
    mine.length = 0;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const until = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(done()).to.equal(true);
  };

  it('gives up a spare whose TLS handshake stalls: the connection asked for opens its own, the spare is closed', async () => {
    // the server takes the TCP connection and never answers the TLS ClientHello (an overloaded front end)
    const clock = new FakeClock();
    const spares = new SpareConnections({ spare: 1, connectTimeoutMs: 300, takeWaitMs: 100, clock });
    spares.preconnect(`https://127.0.0.1:${options.port}`);
    await until(() => accepted.length === 1);
    const asked = connectVia(spares.connector(plainConnect), { ...options, protocol: 'https:' });
    await clock.advance(90);
    expect(accepted, 'still waiting for the spare').to.have.length(1);
    await clock.advance(10); // takeWaitMs: the connection asked for opens its own
    mine.push(await asked);
    expect(accepted, 'its own connection').to.have.length(2);
    expect(closed, 'the stalled spare, not yet given up').to.equal(0);
    await clock.advance(200); // connectTimeoutMs
    await until(() => closed === 1); // the stalled spare, given up
    spares.close();
  });

  it('take() hands out a spare for a client of its own: undefined once it is not open within takeWaitMs, closed when it opens', async () => {
    // early-reads.ts takes its connections so: a stalled handshake never holds a read longer than a spare would
    const clock = new FakeClock();
    const spares = new SpareConnections({ spare: 0, connectTimeoutMs: 300, takeWaitMs: 100, clock });
    const origin = `https://127.0.0.1:${options.port}`;
    spares.preconnect(origin, 1);
    await until(() => accepted.length === 1);
    let taken: unknown = 'waiting';
    void spares.take(origin)!.then((socket) => (taken = socket));
    await clock.advance(90);
    expect(taken, 'still waiting for the spare').to.equal('waiting');
    await clock.advance(10); // takeWaitMs
    await until(() => taken !== 'waiting');
    expect(taken, 'given up: the caller goes its own way').to.equal(undefined);
    expect(spares.take(origin), 'none left').to.equal(undefined);
    await clock.advance(200); // connectTimeoutMs
    await until(() => closed === 1); // the stalled spare, given up
    spares.close();
  });

  it('close() also ends the spares still connecting', async () => {
    const spares = new SpareConnections({ spare: 2, clock: systemClock });
    spares.preconnect(`https://127.0.0.1:${options.port}`);
    await until(() => accepted.length === 2);
    spares.close();
    await until(() => closed === 2);
  });

  it('opens the spares beside the first connection and hands them to the next ones: no new connection for those', async () => {
    const connect = withSpareConnections(plainConnect, { spare: 3 });
    mine.push(await connectVia(connect, options));
    await until(() => accepted.length === 4);
    for (let i = 0; i < 3; i++) mine.push(await connectVia(connect, options));
    expect(new Set(mine).size).to.equal(4);
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted).to.have.length(4);
    // spares used up: the next one is a new connection, and opens no spares again
    mine.push(await connectVia(connect, options));
    await until(() => accepted.length === 5);
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted).to.have.length(5);
  });

  it('skips a spare that failed to open and connects anew instead', async () => {
    let calls = 0;
    const failingSpare: Connector = (o, callback) => {
      calls += 1;
      if (calls === 2) {
        setImmediate(() => callback(new Error('connect ECONNREFUSED')));
        return undefined;
      }
      return plainConnect(o, callback);
    };
    const connect = withSpareConnections(failingSpare, { spare: 1 });
    mine.push(await connectVia(connect, options));
    const next = await connectVia(connect, options);
    mine.push(next);
    expect(next.destroyed).to.equal(false);
    expect(calls).to.equal(3);
    await until(() => accepted.length === 2);
  });

  it('preconnect opens the spares before any client exists; the first connections take them', async () => {
    const spares = new SpareConnections({ spare: 2, clock: systemClock });
    spares.preconnect(`http://127.0.0.1:${options.port}`);
    await until(() => accepted.length === 2);
    const connect = spares.connector(plainConnect);
    mine.push(await connectVia(connect, options), await connectVia(connect, options));
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted).to.have.length(2);
    // used up: a plain connection, no spares again
    mine.push(await connectVia(connect, options));
    await until(() => accepted.length === 3);
    spares.close();
  });

  it('close() closes the spares not taken, and later connections are plain ones', async () => {
    const spares = new SpareConnections({ spare: 2, clock: systemClock });
    spares.preconnect(`http://127.0.0.1:${options.port}`);
    await until(() => accepted.length === 2);
    spares.close();
    await until(() => closed === 2);
    mine.push(await connectVia(spares.connector(plainConnect), options));
    await until(() => accepted.length === 3);
  });

  it('an idle spare keeps no process alive: a node that only opened spares ends by itself', async () => {
    const module = path.join(REPO_ROOT, 'dist/src/trading/exchange/spare-connections.js');
    const clock = path.join(REPO_ROOT, 'dist/src/shared/clock.js');
    const code =
      `const { SpareConnections } = require(${JSON.stringify(module)});\n` +
      `const { systemClock: clock } = require(${JSON.stringify(clock)});\n` +
      `new SpareConnections({ spare: 2, idleMs: 600000, clock }).preconnect('http://127.0.0.1:${options.port}');`;
    // with ref'd spares, or a ref'd idle or connect deadline, this node would live until idleMs (10 minutes): the
    // test's own timeout fails it first
    await promisify(execFile)(process.execPath, ['-e', code]);
    await until(() => accepted.length === 2);
  });

  it("loads node's tls only for an https origin: a paper or plain-http start never pays for it", async () => {
    const module = path.join(REPO_ROOT, 'dist/src/trading/exchange/spare-connections.js');
    const tlsLoaded = "process.moduleLoadList.includes('NativeModule tls')";
    const code =
      `const { SpareConnections } = require(${JSON.stringify(module)});\n` +
      `const { systemClock: clock } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist/src/shared/clock.js'))});\n` +
      `const spares = new SpareConnections({ spare: 1, idleMs: 600000, clock });\n` +
      `const seen = [${tlsLoaded}];\n` +
      `spares.preconnect('http://127.0.0.1:${options.port}');\n` +
      `seen.push(${tlsLoaded});\n` +
      `spares.preconnect('https://127.0.0.1:${options.port}');\n` +
      `seen.push(${tlsLoaded});\n` +
      `spares.close();\n` +
      `console.log(JSON.stringify(seen));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', code]);
    expect(JSON.parse(stdout)).to.deep.equal([false, false, true]);
  });

  it('closes the spares nobody took after idleMs', async () => {
    const clock = new FakeClock();
    const connect = withSpareConnections(plainConnect, { spare: 2, idleMs: 100, clock });
    mine.push(await connectVia(connect, options));
    await until(() => accepted.length === 3);
    await clock.advance(90);
    expect(closed, 'before idleMs').to.equal(0);
    await clock.advance(10);
    await until(() => closed === 2);
    expect(mine[0].destroyed).to.equal(false);
  });
});

describe('spare connections under real ccxt (local Binance behind the latency proxy)', function () {
  this.timeout(30_000);
  let fake: FakeBinance;
  let proxy: LatencyProxy;

  beforeEach(async () => {
    fake = await FakeBinance.start({
      ...binanceKit.credentials,
      symbols: SYMBOLS,
      balances: { USDT: 1_000 },
    });
    proxy = await LatencyProxy.start({ target: fake.url, roundTripMs: 20 });
  });

  afterEach(async () => {
    await proxy.close();
    await fake.close();
  });

  /** Connections each batch of the start opened: [created, markets + account, recovery's reads at once]. */
  async function connectionsPerBatch(spareConnections: number): Promise<number[]> {
    const before = proxy.connections;
    const ex = await kitCcxtExchange(binanceKit, proxy.url, { spareConnections });
    try {
      // the spares' handshakes take a round trip: give them that before the reads
      await new Promise((r) => setTimeout(r, 100));
      const created = proxy.connections - before;
      await Promise.all([ex.loadMarkets(), ex.accountId()]);
      const first = proxy.connections - before - created;
      await Promise.all([
        ...SYMBOLS.map((symbol) => ex.fetchRecentOrders(symbol)),
        ex.fetchOpenOrders(),
        ex.fetchBalance(),
      ]);
      return [created, first, proxy.connections - before - created - first];
    } finally {
      await ex.close();
    }
  }

  it('opens the connections as ccxt loads, so neither batch of the start opens one (without: 2, then 5 to 7)', async () => {
    // as the factory sets it: markets and the account, then recovery's reads
    expect(await connectionsPerBatch(SYMBOLS.length + 4)).to.deep.equal([SYMBOLS.length + 4, 0, 0]);
    // without: markets and account on 2 new connections, then 7 reads at once on new ones but for those of the 2
    // kept alive that undici already checked (one event-loop turn after their answer): 5 to 7
    const without = await connectionsPerBatch(0);
    expect(without.slice(0, 2)).to.deep.equal([0, 2]);
    expect(without[2]).to.be.within(SYMBOLS.length + 2 - 2, SYMBOLS.length + 2);
  });

  it("lets the spares' connects out before ccxt's synchronous load: create() gives the event loop a turn after opening them", async () => {
    // node makes a socket's connect call on a later tick; without a turn of the loop before ccxt's load and construct,
    // the handshakes began only after them, and the first requests waited a round trip for them (live starts: ~30 ms)
    let turned = false;
    setImmediate(() => (turned = true));
    const before = proxy.connections;
    const ex = await kitCcxtExchange(binanceKit, proxy.url, { spareConnections: 3 });
    try {
      expect(turned).to.equal(true);
      for (let i = 0; i < 200 && proxy.connections - before < 3; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(proxy.connections - before).to.equal(3);
      expect(fake.requests).to.be.empty;
    } finally {
      await ex.close();
    }
  });

  for (const [id, profile] of Object.entries(EXCHANGE_PROFILES)) {
    it(`${id}: the profile's restOrigin is where ccxt reads markets and the account`, async () => {
      const { Ctor } = await loadCcxtClass(id);
      const client = new Ctor({
        apiKey: 'k',
        secret: 's',
        password: 'p',
        options: { defaultType: 'spot', ...profile.ccxtOptions },
      }) as unknown as {
        fetch: (url: string) => Promise<unknown>;
        loadMarkets: () => Promise<unknown>;
        [call: string]: unknown;
      };
      const asked: string[] = [];
      client.fetch = (url: string) => {
        asked.push(new URL(url).origin);
        return Promise.reject(new Error('no network in this test'));
      };
      await client.loadMarkets().catch(() => undefined);
      if (profile.accountCall) {
        await (client[profile.accountCall] as () => Promise<unknown>).call(client).catch(() => undefined);
      }
      expect(asked).to.not.be.empty;
      expect([...new Set(asked)]).to.deep.equal([profile.restOrigin]);
    });
  }
});
