/**
 * Connections opened ahead for ccxt's HTTP client: real sockets to a real local server (the connector alone), then
 * real ccxt Binance through the latency proxy (what the start's second batch of reads finds open). Counts only.
 */
import { expect } from 'chai';
import net from 'node:net';
import { FakeBinance } from '../../../harness/exchanges/fake-binance';
import { binanceKit } from '../../../harness/exchanges/exchange-kits';
import { LatencyProxy } from '../../../harness/latency-proxy';
import { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import {
  withSpareConnections,
  type ConnectOptions,
  type Connector,
} from '../../../src/trading/exchange/spare-connections';

const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'BNB/USDT', 'XRP/USDT'];

/** The shape of undici's own connector: a plain TCP connection, handed over once connected. */
const plainConnect: Connector = (options, callback) => {
  const socket = net.connect(Number(options.port), options.hostname);
  socket.once('connect', () => callback(null, socket));
  socket.on('error', (err) => callback(err));
  return socket;
};

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

  it('closes the spares nobody took after idleMs', async () => {
    const connect = withSpareConnections(plainConnect, { spare: 2, idleMs: 100 });
    mine.push(await connectVia(connect, options));
    await until(() => accepted.length === 3);
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

  /** Connections the start's second batch (recovery's reads, all at once) opens after markets and the account. */
  async function secondBatchConnections(spareConnections: number): Promise<number> {
    const ex = await CcxtExchange.create({
      exchangeId: 'binance',
      ...binanceKit.credentials,
      apiUrl: proxy.url,
      spareConnections,
    });
    try {
      await Promise.all([ex.loadMarkets(), ex.accountId()]);
      // the spares' handshakes are under way beside the first batch; give them the round trip they need
      await new Promise((r) => setTimeout(r, 100));
      const before = proxy.connections;
      await Promise.all([
        ...SYMBOLS.map((symbol) => ex.fetchRecentOrders(symbol)),
        ex.fetchOpenOrders(),
        ex.fetchBalance(),
      ]);
      return proxy.connections - before;
    } finally {
      await ex.close();
    }
  }

  it('the recovery batch finds its connections open with spares, and opens one per read beyond the kept-alive ones without', async () => {
    expect(await secondBatchConnections(SYMBOLS.length + 2)).to.equal(0);
    // without: 7 reads at once, the first batch's 2 connections kept alive, 5 new
    expect(await secondBatchConnections(0)).to.equal(SYMBOLS.length + 2 - 2);
  });
});
