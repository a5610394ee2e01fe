/**
 * The daemon launcher's V8 code cache: written once after start, used by the next start, never trusted when it
 * does not match (rebuilt bundle, torn or corrupted file). Real files and real V8 compilation, in child processes
 * so every start is a fresh isolate as under PM2.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../harness/pm2';

const LAUNCHER = path.join(REPO_ROOT, 'dist/scripts/daemon-launcher/code-cache.js');
const SETTINGS = path.join(REPO_ROOT, 'dist/src/shared/lifecycle/heap-settings.js');

describe('daemon launcher code cache', function () {
  this.timeout(30_000);
  let dir: string;
  let bundle: string;
  let cacheDir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-codecache-'));
    bundle = path.join(dir, 'demo.bundle.js');
    cacheDir = path.join(dir, '.cache');
    writeBundle('first');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function writeBundle(tag: string): void {
    // enough code that V8 produces a real cache; prints what the module saw of its CommonJS surroundings
    const filler = Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + 1; }`).join(
      '\n',
    );
    fs.writeFileSync(
      bundle,
      `${filler}\n` +
        `const path = require('node:path');\n` +
        `module.exports.tag = ${JSON.stringify(tag)};\n` +
        `console.log(JSON.stringify({ tag: ${JSON.stringify(tag)}, file: path.basename(__filename), ` +
        `dir: __dirname, sum: f1(2) + f199(1), exportsOk: module.exports === exports }));\n`,
    );
  }

  /** Starts the bundle through the launcher in a fresh node; returns what it printed and the launcher's result. */
  function start(): { printed: Record<string, unknown>; cache: string; cacheFile: string } {
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const r = require(${JSON.stringify(LAUNCHER)}).runWithCodeCache(${JSON.stringify(bundle)}, ` +
          `{ cacheDir: ${JSON.stringify(cacheDir)}, writeAfterMs: 0 }); ` +
          `setTimeout(() => console.log(JSON.stringify(r)), 50);`,
      ],
      { encoding: 'utf8' },
    );
    const [printed, result] = out.trim().split('\n');
    return { printed: JSON.parse(printed), ...JSON.parse(result) };
  }

  /** Runs `script` in a fresh node; the last line it printed. */
  function lastLine(script: string): string {
    return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim().split('\n').pop()!;
  }

  function cacheFiles(): string[] {
    return fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).filter((f) => f.endsWith('.v8cache')) : [];
  }

  it('runs the bundle as a CommonJS module, writes the cache once, and the next start uses it', () => {
    const first = start();
    expect(first.printed).to.deep.equal({
      tag: 'first',
      file: 'demo.bundle.js',
      dir,
      sum: 3 + 200, // f1(2) + f199(1)
      exportsOk: true,
    });
    expect(first.cache).to.equal('none');
    expect(cacheFiles()).to.deep.equal([path.basename(first.cacheFile)]);

    const second = start();
    expect(second.cache).to.equal('used');
    expect(second.printed).to.deep.equal(first.printed);
  });

  it('writes the cache as soon as the daemon said ready to its parent (PM2), not only after writeAfterMs', async () => {
    // the bundle says ready, counts its cache files 300 ms later and exits: writeAfterMs (60 s) never comes
    const filler = Array.from({ length: 200 }, (_, i) => `function r${i}(x) { return x - ${i}; }`).join('\n');
    const dirLiteral = JSON.stringify(cacheDir);
    fs.writeFileSync(
      bundle,
      `${filler}\nconst fs = require('node:fs');\nprocess.send('ready');\n` +
        `setTimeout(() => { console.log(fs.existsSync(${dirLiteral}) ? fs.readdirSync(${dirLiteral}).length : 0); ` +
        `process.exit(0); }, 300);\n`,
    );
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(LAUNCHER)}).runWithCodeCache(${JSON.stringify(bundle)}, ` +
          `{ cacheDir: ${dirLiteral}, writeAfterMs: 60000 });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
    );
    const messages: unknown[] = [];
    child.on('message', (m) => messages.push(m));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).to.equal(0);
    expect(messages, 'the ready message still reaches the parent').to.deep.equal(['ready']);
    expect(out.trim(), 'cache files 300 ms after ready').to.equal('1');
  });

  it("is written under the start's V8 flags when the heap settings were applied after ready, so the next start uses it", () => {
    // as a daemon does: the bundle loaded, ready (here: at once), V8's memory settings applied, then the cache written
    const startThenSettings = (): string =>
      lastLine(
        `const r = require(${JSON.stringify(LAUNCHER)}).runWithCodeCache(${JSON.stringify(bundle)}, ` +
          `{ cacheDir: ${JSON.stringify(cacheDir)}, writeAfterMs: 0 }); ` +
          `require(${JSON.stringify(SETTINGS)}).applyHeapSettings(); ` +
          `setTimeout(() => console.log(r.cache), 50);`,
      );
    expect(startThenSettings()).to.equal('none');
    expect(cacheFiles()).to.have.length(1);
    // made under the settings' flags, V8 would reject it here (its flag hash differs): 'rejected'
    expect(startThenSettings()).to.equal('used');
  });

  it('is used by a bundle loaded after the heap settings (a ccxt bundle in a start that took over 10 s)', () => {
    // trading loads its exchange's ccxt bundle through requireWithCodeCache during the start; the settings apply at
    // ready or 10 s after start, whichever comes first: a slow start loads it under the settings' flags
    const codeCache = path.join(REPO_ROOT, 'dist/src/shared/lifecycle/code-cache.js');
    const settingsThenLoad = (): string =>
      lastLine(
        `require(${JSON.stringify(SETTINGS)}).applyHeapSettings(); ` +
          `const r = require(${JSON.stringify(codeCache)}).requireWithCodeCache(${JSON.stringify(bundle)}, ` +
          `{ cacheDir: ${JSON.stringify(cacheDir)}, writeAfterMs: 0 }); ` +
          `setTimeout(() => console.log(r.cache), 50);`,
      );
    expect(settingsThenLoad()).to.equal('none');
    // the cache was written under the start's flags: compiled under the settings', V8 rejected it at every such
    // start and it was written again (1.8 MB for ccxt's binance)
    expect(settingsThenLoad()).to.equal('used');
    expect(start().cache, 'and by a start that loads it before the settings').to.equal('used');
  });

  it('never uses the cache of another build of the bundle, and drops it once the new one is written', () => {
    const old = start();
    writeBundle('other'); // same length as 'first': V8's own check (source length) would not notice
    const rebuilt = start();
    expect(rebuilt.cache).to.equal('none');
    expect(rebuilt.printed.tag).to.equal('other');
    expect(rebuilt.cacheFile).to.not.equal(old.cacheFile);
    expect(cacheFiles()).to.deep.equal([path.basename(rebuilt.cacheFile)]);
  });

  it('ignores a torn or corrupted cache file and replaces it', () => {
    const { cacheFile } = start();
    const good = fs.readFileSync(cacheFile);
    fs.writeFileSync(cacheFile, good.subarray(0, Math.floor(good.length / 2))); // torn
    const afterTorn = start();
    expect(afterTorn.cache).to.equal('none');
    expect(afterTorn.printed.tag).to.equal('first');

    const flipped = fs.readFileSync(cacheFile);
    flipped[flipped.length - 10] ^= 0xff; // one corrupted byte in the payload
    fs.writeFileSync(cacheFile, flipped);
    expect(start().cache).to.equal('none');
    expect(start().cache).to.equal('used'); // rewritten by the start before
  });

  it('a start from the cache still loads ES modules (require of ESM, what the bundles do instead of import())', () => {
    const esm = path.join(dir, 'single-exchange.mjs');
    fs.writeFileSync(esm, 'export default class Exchange { id() { return "demo"; } }\n');
    const filler = Array.from({ length: 200 }, (_, i) => `function g${i}(x) { return x + ${i}; }`).join('\n');
    fs.writeFileSync(
      bundle,
      `${filler}\nconst { default: Ctor } = require(${JSON.stringify(esm)});\n` +
        `console.log(JSON.stringify({ tag: 'esm', id: new Ctor().id() }));\n`,
    );
    expect(start().printed).to.deep.equal({ tag: 'esm', id: 'demo' });
    const cached = start();
    expect(cached.cache).to.equal('used');
    expect(cached.printed).to.deep.equal({ tag: 'esm', id: 'demo' });
  });

  it('the shipped daemon bundles contain no dynamic import(): on Node 20 a script from a code cache cannot run one', () => {
    for (const name of ['trading', 'telegram']) {
      const source = fs.readFileSync(path.join(REPO_ROOT, `dist/daemons/${name}.bundle.js`), 'utf8');
      expect(/[^\w$.]import\s*\(/.test(source), `${name}.bundle.js calls import()`).to.equal(false);
    }
  });

  it('runs the same without a writable cache dir', () => {
    fs.writeFileSync(cacheDir, 'not a directory');
    const first = start();
    expect(first.cache).to.equal('none');
    expect(first.printed.tag).to.equal('first');
    expect(start().cache).to.equal('none');
  });
});
