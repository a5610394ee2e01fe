/**
 * The build's one-file ccxt bundle per verified exchange (scripts/bundle.ts), as a live start loads it: in a fresh
 * node, through loadCcxtClass, its class and error classes from the same copy, and a real request through the
 * HTTP client bundled with it (undici) to the local exchange double. What it loads only on first use
 * (scripts/ccxt-bundle-deps.ts) answers as ccxt's own modules do.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { transform } from 'esbuild';
import { FakeBinance } from '../../harness/exchanges/fake-binance';
import { binanceKit } from '../../harness/exchanges/exchange-kits';
import { DAEMON_SCRIPTS, REPO_ROOT } from '../../harness/pm2';
import { verifiedExchangeIds } from '../../src/trading/exchange/profiles';
import { WS_FACADE } from '../../scripts/ccxt-bundle-deps';

/** A self-signed certificate for 127.0.0.1 (test only, valid 100 years): a local HTTP/2 server for undici. */
const H2_KEY = [
  '-----BEGIN PRIVATE KEY-----',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGGV6xhbekvZcjKqz',
  'bq4z4greCuHqG9yu6veGMmJBlhWhRANCAAR6O+CD1cRKm/mnoKz0uA8WrFW0fncY',
  '/XdKz5MBfPhHnNSwoTv6Olgt+GFekH4R46xZxtF9smR9xeKUbFzie9c1',
  '-----END PRIVATE KEY-----',
].join('\n');
const H2_CERT = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBmzCCAUGgAwIBAgIUZdJ1yLNonTPtUFrx+q8JGa0NfycwCgYIKoZIzj0EAwIw',
  'FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNTA2MjQzMVoYDzIxMjYxMTEx',
  'MDYyNDMxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO',
  'PQMBBwNCAAR6O+CD1cRKm/mnoKz0uA8WrFW0fncY/XdKz5MBfPhHnNSwoTv6Olgt',
  '+GFekH4R46xZxtF9smR9xeKUbFzie9c1o28wbTAdBgNVHQ4EFgQU7LYijCcG3PW9',
  'xN6ajARYgq4ReAwwHwYDVR0jBBgwFoAU7LYijCcG3PW9xN6ajARYgq4ReAwwDwYD',
  'VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI',
  'zj0EAwIDSAAwRQIhALjReEAv71TTOPPrRizY/ZB9fvwY0UVBy1Us9nbUO9jjAiAT',
  'Xf4pg4moB1GlGKhB0RYj9Ac1r8lPAsNtw/BeSfG+hA==',
  '-----END CERTIFICATE-----',
].join('\n');

const DAEMONS_DIR = path.dirname(DAEMON_SCRIPTS.trading);
const CCXT_EXCHANGE = path.join(REPO_ROOT, 'dist/src/trading/exchange/ccxt-exchange.js');

/** Runs `body` (an async function body; `load` is loadCcxtClass over the build's bundles) in a fresh node. */
async function inFreshNode(body: string): Promise<unknown> {
  const code =
    `const { loadCcxtClass, rebaseUrls } = require(${JSON.stringify(CCXT_EXCHANGE)});\n` +
    `const load = (id) => loadCcxtClass(id, ${JSON.stringify(DAEMONS_DIR)});\n` +
    `(async () => { ${body} })().then((r) => { console.log(JSON.stringify(r)); process.exit(0); }, ` +
    `(e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', code], { cwd: REPO_ROOT });
  return JSON.parse(stdout);
}

/**
 * Runs `body` in a fresh node once `client`, the bundle's Binance class, read its markets from a local Binance
 * double (`fakeUrl` its address); with the routes the double was asked.
 */
async function afterMarketsRead(
  body: (fakeUrl: string) => string,
): Promise<{ result: unknown; routes: string[] }> {
  const fake = await FakeBinance.start({ ...binanceKit.credentials, symbols: ['BTC/USDT'] });
  try {
    const result = await inFreshNode(`
      const { Ctor } = await load('binance');
      const client = new Ctor({ options: { fetchMarkets: { types: ['spot'] }, fetchCurrencies: false } });
      client.urls.api = rebaseUrls(client.urls.api, ${JSON.stringify(fake.url)});
      const markets = await client.loadMarkets();
      ${body(fake.url)}`);
    return { result, routes: fake.requests.map((r) => r.route) };
  } finally {
    await fake.close();
  }
}

describe('the ccxt bundles a live start loads', function () {
  this.timeout(60_000);

  it('has one per verified exchange, next to the daemon bundles', () => {
    for (const id of verifiedExchangeIds()) {
      expect(fs.existsSync(path.join(DAEMONS_DIR, `ccxt-${id}.js`)), id).to.equal(true);
    }
  });

  it('loads each exchange from its bundle, with the error classes of the same copy (matched by name)', async () => {
    const loaded = (await inFreshNode(`
      const out = {};
      for (const id of ${JSON.stringify(verifiedExchangeIds())}) {
        const { Ctor, info, errorClasses } = await load(id);
        const errors = errorClasses();
        const names = [];
        for (let p = errors.InvalidOrder.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
          names.push(p.constructor.name);
        }
        out[id] = { via: info.via, fallback: info.fallbackReason ?? null, id: new Ctor({}).id, names };
      }
      return out;`)) as Record<string, { via: string; fallback: string | null; id: string; names: string[] }>;
    for (const id of verifiedExchangeIds()) {
      expect(loaded[id], id).to.deep.include({ via: 'bundle', fallback: null, id });
      expect(loaded[id].names, id).to.include.members(['InvalidOrder', 'BaseError']);
    }
  });

  it("holds neither the rest of undici (loaded from node_modules with fetch), ws, nor MEXC's protobuf messages", () => {
    for (const id of verifiedExchangeIds()) {
      const code = fs.readFileSync(path.join(DAEMONS_DIR, `ccxt-${id}.js`), 'utf8');
      expect(code, id).to.not.include('undici/lib/web/fetch/index.js');
      expect(code, id).to.not.include('PushDataV3ApiWrapper.prototype');
      expect(code, id).to.not.include('node_modules/ws/lib/');
      expect(code, id).to.include('require("undici")');
    }
  });

  it('loads the rest of undici from the copy ccxt itself depends on (the bundled parts are of that version)', () => {
    const ccxtDir = path.dirname(require.resolve('ccxt', { paths: [REPO_ROOT] }));
    const fromBundles = require.resolve('undici', { paths: [DAEMONS_DIR] });
    expect(fromBundles).to.equal(require.resolve('undici', { paths: [ccxtDir] }));
  });

  it("records the names of each class's implicit REST methods as the ccxt it bundles gives them", async () => {
    const recorded = (await inFreshNode(`
      const { recordRestNames } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist/src/trading/exchange/ccxt-rest-names.js'))});
      const out = {};
      for (const id of ${JSON.stringify(verifiedExchangeIds())}) {
        const bundled = await load(id);
        // ccxt's own ES module, loaded apart from the bundle
        const own = await loadCcxtClass(id);
        if (own.info.via === 'bundle') throw new Error(own.info.via);
        out[id] = { same: JSON.stringify(bundled.restNames) === JSON.stringify(recordRestNames(own.Ctor)), n: bundled.restNames.length };
      }
      return out;`)) as Record<string, { same: boolean; n: number }>;
    for (const id of verifiedExchangeIds()) {
      expect(recorded[id].same, id).to.equal(true);
      expect(recorded[id].n, id).to.be.above(100);
    }
  });

  it('reads markets from the local Binance through the HTTP client bundled in', async () => {
    const { result, routes } = await afterMarketsRead(() => 'return Object.keys(markets);');
    expect(result).to.include('BTC/USDT');
    expect(routes).to.include('exchangeInfo');
  });

  it("requests without loading the rest of undici (nor node's own copy of it), and undici loads whole when needed", async () => {
    const { result } = await afterMarketsRead(
      (fakeUrl) => `
        const afterRequest = process.moduleLoadList.includes('NativeModule internal/deps/undici/undici');
        // what ccxt keeps for its fetch path: undici's own fetch, loaded on its call
        const time = await (await client.undiciModule.fetch(${JSON.stringify(`${fakeUrl}/api/v3/time`)})).json();
        return { afterRequest, fetched: typeof time.serverTime, connector: typeof client.undiciModule.buildConnector };`,
    );
    expect(result).to.deep.equal({ afterRequest: false, fetched: 'number', connector: 'function' });
  });

  it("sends without node's http2, and undici's HTTP/2 client still answers a connection that negotiates h2", async () => {
    const { result } = await afterMarketsRead(
      () => `
        const afterRequest = process.moduleLoadList.includes('NativeModule http2');
        const http2 = require('node:http2');
        const server = http2.createSecureServer({ key: ${JSON.stringify(H2_KEY)}, cert: ${JSON.stringify(H2_CERT)} });
        server.on('stream', (stream, headers) => { stream.respond({ ':status': 200 }); stream.end('h2 ' + headers[':path']); });
        await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
        const undici = client.undiciModule;
        const agent = new undici.Agent({ allowH2: true, connect: { ca: ${JSON.stringify(H2_CERT)} } });
        const res = await undici.request('https://127.0.0.1:' + server.address().port + '/ping', { dispatcher: agent });
        const body = await res.body.text();
        await agent.close();
        await new Promise((resolve) => server.close(resolve));
        return { afterRequest, status: res.statusCode, body };`,
    );
    expect(result).to.deep.equal({ afterRequest: false, status: 200, body: 'h2 /ping' });
  });

  it("opens ccxt's WebSocket client as ws's own does, ws loaded from ccxt's copy on first use only", async () => {
    const seen = (await inFreshNode(`
      const wsFile = require.resolve('ws', { paths: [require('node:path').dirname(require.resolve('ccxt'))] });
      const loaded = () => Object.keys(require.cache).some((f) => f.startsWith(require('node:path').dirname(wsFile)));
      const { Ctor } = await load('binance');
      const atLoad = loaded();
      const WS = require(wsFile);
      const server = new WS.WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise((resolve) => server.once('listening', resolve));
      const got = new Promise((resolve) => server.once('connection', (s) => s.once('message', (m) => resolve(String(m)))));
      const exchange = new Ctor({});
      await exchange.loadHttpProxyAgent(); // ccxt's own step for a plain ws:// url
      const client = exchange.client('ws://127.0.0.1:' + server.address().port);
      await client.connect();
      const open = client.isOpen();
      const isWs = client.connection instanceof WS;
      client.connection.send('hello');
      const message = await got;
      await client.close();
      const closed = client.connection.readyState === WS.CLOSED;
      await new Promise((resolve) => server.close(resolve));
      return { atLoad, open, isWs, message, closed, after: loaded() };`)) as Record<string, unknown>;
    expect(seen).to.deep.equal({
      atLoad: false,
      open: true,
      isWs: true,
      message: 'hello',
      closed: true,
      after: true,
    });
  });

  it("ws's facade is ws's class for any use: a subclass constructs its own instances, a call without new throws", async () => {
    const { code } = await transform(WS_FACADE, { format: 'cjs', loader: 'js' });
    const facade = { exports: {} as { default?: unknown } };
    (vm.runInThisContext(`(function (require, module, exports) {${code}\n})`) as (...a: unknown[]) => void)(
      require,
      facade,
      facade.exports,
    );
    type Ctor = new (...args: unknown[]) => object;
    const WebSocket = facade.exports.default as Ctor;
    class Own extends WebSocket {
      own(): string {
        return 'own';
      }
    }
    // a server-side socket (address null): ws's own way to make one without a connection
    const own = new Own(null, undefined, { autoPong: true });
    expect(own).to.be.instanceOf(Own);
    expect(own).to.be.instanceOf(WebSocket);
    expect(own.own()).to.equal('own');
    expect(() => (WebSocket as unknown as (...args: unknown[]) => unknown)(null)).to.throw(
      TypeError,
      /without 'new'/,
    );
  });

  it("signs Starknet messages as ccxt's own modules do, its tables built on first use", async () => {
    const call = `
      const client = new Ctor({});
      const key = '0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc';
      return {
        sign: client.starknetSign('0x1234', key),
        poseidon: String(client.extendedStarknetComputePoseidonHashOnElements(['1', '2', '3'])),
        account: client.retrieveStarkAccount('0x' + 'ab'.repeat(65), '0x1', '0x2'),
      };`;
    const bundled = await inFreshNode(`const { Ctor } = await load('binance');${call}`);
    const own = await inFreshNode(
      `const { Ctor, info } = await loadCcxtClass('binance'); if (info.via === 'bundle') throw new Error(info.via);${call}`,
    );
    expect(bundled).to.deep.equal(own);
    expect(JSON.stringify(bundled)).to.match(/\d{10}/);
  });
});
