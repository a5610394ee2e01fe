/**
 * Some of ccxt's dependencies cost a live start CPU before its first request while a centralised REST exchange
 * never uses what they spend it on; in the ccxt bundles (scripts/bundle.ts) they are loaded differently, with the
 * same code answering every call:
 *
 * - @scure/starknet (Starknet signing, for DEX exchanges) builds its Pedersen and Poseidon tables when its module
 *   runs, and ccxt's base class imports it: ~8 ms of every bundle load (CPU, median of 12 fresh loads: 29 → 21 ms).
 *   In the bundle, ccxt imports a facade whose functions load the real module on their first call.
 * - undici's index.js loads all of undici (fetch, WebSocket, EventSource, cookies, caches, mocks), and its cookies
 *   module reads `globalThis.Headers`, which makes node load its own, second copy of undici: ~10 ms of the first
 *   request (26 → 16 ms). ccxt uses only `Agent`, `ProxyAgent` and `request` (and keeps a reference to `fetch`, which
 *   it calls only without undici); ByNinja adds `buildConnector` (spare-connections.ts). In the bundle, `undici` is
 *   those, `request` built by undici's own `makeDispatcher` (cut from the installed index.js), `fetch` a function that
 *   loads the rest of undici when called — from node_modules, not bundled: its ~0.6 MB of source (fetch, WebSocket,
 *   caches, mocks) was hashed, decoded and handed to V8 at every load of the bundle though it never ran (with MEXC's
 *   protobuf messages below, the binance bundle 1.87 → 1.41 MB: load 48.2 → 42.9 ms of main-thread CPU, median of 12
 *   fresh processes each, alternated).
 * - undici's HTTP/2 client (client-h2.js, with node's http2: ~2–3 ms at the first request's way out), which its
 *   client requires at its top but calls only for a connection that negotiated h2 — never for ccxt's requests (undici
 *   offers h2 only with `allowH2`): in the bundle it runs on that first call (`undiciLazyH2`).
 * - MEXC's protobuf messages (0.14 MB), which ccxt's base class imports when the exchange is mexc: in no bundle.
 * - ws (ccxt's WebSocket client, for ccxt.pro's streams and its order router: ByNinja only calls REST), which ccxt's
 *   base class imports through its WsClient: ws's modules and the node ones they load (http, https, zlib; tls, which
 *   a start over https loads with its first connection anyway) were ~5–7 ms of every bundle load. In the bundle,
 *   `ws` is a facade whose class constructs, answers its statics (`OPEN`…) and `instanceof` as ws's own, loading ws
 *   from node_modules (the copy ccxt depends on) on first use; `createWebSocketStream` likewise.
 * A ccxt upgrade that imports something else from either fails the build (no such export), never at run time.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'esbuild';

const NAMESPACE = 'ccxt-deps';

/** The @scure/starknet functions ccxt's base class and its Starknet helpers import (plain calls only). */
export const STARKNET_CALLS = [
  'getStarkKey',
  'ethSigToPrivate',
  'sign',
  'pedersen',
  'keccak',
  'poseidonHashMany',
];

/** undici's `makeDispatcher` as the installed version writes it (the body of its `request`, `stream`…). */
export function undiciMakeDispatcher(undiciDir: string): string {
  const index = fs.readFileSync(path.join(undiciDir, 'index.js'), 'utf8');
  const found = /^function makeDispatcher \(fn\) \{\n[\s\S]*?\n\}\n/m.exec(index);
  if (!found)
    throw new Error(`undici ${undiciDir}: no makeDispatcher in index.js (undici changed: see ${__filename})`);
  return found[0];
}

/**
 * ws as ccxt imports it (`import WebSocket, { createWebSocketStream } from 'ws'`, or `import('ws')`), loaded on first
 * use: the class is a proxy of ws's own (construct — a subclass's `new` too, its instances its own —, a call without
 * `new`, which throws as the class does, every property — `OPEN`, `prototype` for `instanceof` — and `in`).
 */
export const WS_FACADE = [
  `let real;`,
  `const load = () => (real ??= require('ws'));`,
  `const WebSocket = new Proxy(function WebSocket() {}, {`,
  `  construct: (_target, args, newTarget) =>`,
  `    Reflect.construct(load(), args, newTarget === WebSocket ? load() : newTarget),`,
  `  apply: (_target, self, args) => Reflect.apply(load(), self, args),`,
  `  get: (_target, key) => load()[key],`,
  `  has: (_target, key) => key in load(),`,
  `});`,
  `export default WebSocket;`,
  `export const createWebSocketStream = (...args) => load().createWebSocketStream(...args);`,
].join('\n');

const EAGER_H2 = "const connectH2 = require('./client-h2.js')";

/**
 * undici's client.js with its HTTP/2 client required on its first call, not at the top: the same function, called
 * with the same arguments, only for a connection that negotiated h2.
 */
export function undiciLazyH2(clientJs: string, file: string): string {
  if (clientJs.split(EAGER_H2).length !== 2)
    throw new Error(`${file}: no single "${EAGER_H2}" (undici changed: see ${__filename})`);
  return clientJs.replace(
    EAGER_H2,
    "const connectH2 = (client, socket) => require('./client-h2.js')(client, socket)",
  );
}

export function ccxtDependencyPlugin(root: string): Plugin {
  const undiciDir = path.dirname(require.resolve('undici/package.json', { paths: [root] }));
  return {
    name: 'ccxt-deps',
    setup(b) {
      // ccxt's imports go to the facades; the facades' own imports go to the real modules
      b.onResolve({ filter: /^(@scure\/starknet|undici)$/ }, (args) =>
        args.namespace === NAMESPACE ? undefined : { path: args.path, namespace: NAMESPACE },
      );
      // undici's HTTP/2 client on its first call
      const clientJs = path.join(undiciDir, 'lib', 'dispatcher', 'client.js');
      b.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/ }, (args) =>
        args.path === clientJs
          ? { contents: undiciLazyH2(fs.readFileSync(clientJs, 'utf8'), clientJs), loader: 'js' }
          : undefined,
      );
      // ws: ccxt's import goes to the facade, the facade's to node_modules (not bundled)
      b.onResolve({ filter: /^ws$/ }, (args) =>
        args.namespace === NAMESPACE ? { path: 'ws', external: true } : { path: 'ws', namespace: NAMESPACE },
      );
      b.onLoad({ filter: /^ws$/, namespace: NAMESPACE }, () => ({ contents: WS_FACADE, loader: 'js' }));
      // the rest of undici (fetch and all it needs: ~0.6 MB) from node_modules, on fetch's first call
      b.onResolve({ filter: /^undici\/index\.js$/ }, () => ({ path: 'undici', external: true }));
      // MEXC's protobuf messages, imported only when the exchange is mexc
      b.onResolve({ filter: /[\\/]protobuf[\\/]mexc[\\/]compiled\.cjs$/ }, () => ({
        path: 'mexc-protobuf',
        namespace: NAMESPACE,
      }));
      b.onLoad({ filter: /^mexc-protobuf$/, namespace: NAMESPACE }, () => ({
        contents: `throw new Error('MEXC protobuf is not in this bundle');`,
        loader: 'js',
      }));
      b.onLoad({ filter: /^@scure\/starknet$/, namespace: NAMESPACE }, () => ({
        resolveDir: root,
        loader: 'js',
        contents:
          `let real;\nconst load = () => (real ??= require('@scure/starknet'));\n` +
          STARKNET_CALLS.map((name) => `export const ${name} = (...args) => load().${name}(...args);`).join(
            '\n',
          ),
      }));
      b.onLoad({ filter: /^undici$/, namespace: NAMESPACE }, () => ({
        resolveDir: undiciDir,
        loader: 'js',
        contents: [
          `'use strict';`,
          `const Dispatcher = require('./lib/dispatcher/dispatcher');`,
          `const api = require('./lib/api');`,
          `const util = require('./lib/core/util');`,
          `const { InvalidArgumentError } = require('./lib/core/errors');`,
          `const { getGlobalDispatcher } = require('./lib/global');`,
          // as index.js does: every dispatcher gets request(), stream()…
          `Object.assign(Dispatcher.prototype, api);`,
          undiciMakeDispatcher(undiciDir),
          `module.exports.Agent = require('./lib/dispatcher/agent');`,
          `module.exports.ProxyAgent = require('./lib/dispatcher/proxy-agent');`,
          `module.exports.buildConnector = require('./lib/core/connect');`,
          `module.exports.request = makeDispatcher(api.request);`,
          `module.exports.fetch = function fetch(init, options) { return require('undici/index.js').fetch(init, options); };`,
        ].join('\n'),
      }));
    },
  };
}
