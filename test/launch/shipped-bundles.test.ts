import { expect } from 'chai';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DAEMON_SCRIPTS, TEST_DAEMON_SCRIPTS } from '../../harness/pm2';
import { installedCcxtVersion } from '../../src/trading/exchange/ccxt-bundle';
import { FINGERPRINT_PLACEHOLDER } from '../../scripts/bundle-fingerprint';

/** Words only the test-only fault code contains (crash points, exchange faults, the SIGUSR2 busy loop). */
const FAULT_MARKERS = [
  'BYNINJA_TEST_CRASH_AT',
  'BYNINJA_PAPER_FAULTS',
  'test hook: SIGKILL at',
  'injected network failure',
  'SIGUSR2',
  'blocks the event loop',
];

function bundleOf(launcher: string): string {
  return fs.readFileSync(launcher.replace(/\.js$/, '.bundle.js'), 'utf8');
}

describe('what ships', () => {
  it('the daemon bundles PM2 runs contain no test-only fault code', () => {
    for (const [name, launcher] of Object.entries(DAEMON_SCRIPTS)) {
      const code = bundleOf(launcher);
      for (const marker of FAULT_MARKERS) expect(code, `${name}: ${marker}`).to.not.include(marker);
    }
  });

  it('the test daemon, bundled apart, does (so the check above looks for the right words)', () => {
    const code = bundleOf(TEST_DAEMON_SCRIPTS.trading);
    for (const marker of FAULT_MARKERS) expect(code, marker).to.include(marker);
    expect(path.dirname(TEST_DAEMON_SCRIPTS.trading)).to.not.equal(path.dirname(DAEMON_SCRIPTS.trading));
  });

  it("the trading bundle runs the daemon's later modules on their require, after a live start's first reads (daemon-parts.ts)", () => {
    const code = bundleOf(DAEMON_SCRIPTS.trading);
    // lazy modules: the parts, and what only they import (the state's schemas, the event log, the loop)
    for (const init of [
      'init_daemon_parts',
      'init_trading_state_schema',
      'init_event_log',
      'init_trading_loop',
    ]) {
      expect(code, init).to.include(`${init}=__esm(`);
    }
    // run from one place: startTrading's require, once the first reads are sent
    expect(code.split('init_daemon_parts()').length - 1).to.equal(1);
    expect(/sendConnectReads\([^;]*;[^]*?init_daemon_parts\(\)/.test(code)).to.equal(true);
  });

  it("the trading bundle's ccxt version is the bundled ccxt's, a constant (nothing resolved or read at a start)", () => {
    const code = bundleOf(DAEMON_SCRIPTS.trading);
    const fn = /function ccxtVersion\(\)\{[^}]*\}/.exec(code)?.[0];
    expect(fn, 'ccxtVersion in the bundle').to.be.a('string');
    const installed = installedCcxtVersion();
    expect(installed).to.match(/^\d+\.\d+\.\d+/);
    expect(fn).to.include(JSON.stringify(installed));
    expect(fn).to.not.match(/require|installedCcxtVersion|BYNINJA_BUNDLED_CCXT_VERSION/);
  });

  it('each launcher PM2 runs is one file: no module of ours to load, no source map to read (scripts/bundle.ts)', () => {
    for (const [name, launcher] of Object.entries({ ...DAEMON_SCRIPTS, test: TEST_DAEMON_SCRIPTS.trading })) {
      const code = fs.readFileSync(launcher, 'utf8');
      // PM2 turns source maps on in what it forks: node reads the .map of each module the launcher loads
      expect(code, name).to.not.include('sourceMappingURL');
      const required = [...code.matchAll(/require\((['"`])(.+?)\1\)/g)].map((m) => m[2]);
      expect(required.length, `${name} requires`).to.be.greaterThan(0);
      for (const id of required) expect(id, `${name} requires ${id}`).to.match(/^node:/);
      expect(code, name).to.include(`"${path.basename(launcher, '.js')}.bundle.js"`);
    }
  });

  it("the launcher, run as PM2 runs it (source maps on, through the dist link), marks its build, runs its bundle and writes the bundle's code cache after ready, loading nothing else of ours", async function () {
    this.timeout(20_000);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-launcher-'));
    try {
      const build = path.join(root, 'dist-test');
      fs.mkdirSync(path.join(build, 'daemons'), { recursive: true });
      fs.copyFileSync(DAEMON_SCRIPTS.trading, path.join(build, 'daemons', 'trading.js'));
      // a stand-in for the daemon bundle: says what it sees, then ready; leaves when told to
      const filler = Array.from({ length: 100 }, (_, i) => `function f${i}(x) { return x * ${i}; }`).join(
        '\n',
      );
      fs.writeFileSync(
        path.join(build, 'daemons', 'trading.bundle.js'),
        `${filler}\nconst fs = require('node:fs');\nconst path = require('node:path');\n` +
          `process.send({ inUse: fs.existsSync(path.join(__dirname, '..', '.in-use', String(process.pid))), ` +
          `dir: __dirname, loaded: Object.keys(require.cache), sum: f1(2) + f99(1) });\n` +
          `process.send('ready');\nprocess.on('message', (m) => m === 'exit' && process.exit(0));\n`,
      );
      fs.symlinkSync(build, path.join(root, 'dist'));
      const child = spawn(
        process.execPath,
        [
          '-e',
          // what PM2's ProcessContainerFork does before it loads the script
          "process.setSourceMapsEnabled(true); require('node:module')._load(process.argv[1], null, true)",
          path.join(root, 'dist', 'daemons', 'trading.js'),
        ],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      const messages: unknown[] = [];
      child.on('message', (m) => messages.push(m));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const until = async (what: string, test: () => boolean): Promise<void> => {
        for (let i = 0; i < 300 && !test(); i++) await new Promise((r) => setTimeout(r, 20));
        expect(test(), what).to.equal(true);
      };
      await until('ready', () => messages.includes('ready'));
      const cacheDir = path.join(build, 'daemons', '.cache');
      await until('the code cache written after ready', () =>
        (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []).some((f) =>
          /^trading\.bundle-[0-9a-f]+\.v8cache$/.test(f),
        ),
      );
      const seen = messages[0] as { inUse: boolean; dir: string; loaded: string[]; sum: number };
      expect(seen.inUse).to.equal(true);
      expect(seen.dir).to.equal(path.join(fs.realpathSync(build), 'daemons'));
      expect(seen.sum).to.equal(2 + 99);
      // the launcher alone: no tsc module of ours (each would have its .map read with source maps on)
      expect(seen.loaded).to.deep.equal([path.join(fs.realpathSync(build), 'daemons', 'trading.js')]);
      child.send('exit');
      expect(await exited).to.equal(0);
      expect(fs.readdirSync(path.join(build, '.in-use'))).to.deep.equal([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('each daemon bundle holds its fingerprint: the SHA-256 of its code (what its kept configuration counts for)', () => {
    for (const [name, launcher] of Object.entries(DAEMON_SCRIPTS)) {
      const code = bundleOf(launcher);
      const fn = /function bundleConfigCache\(\)\{[^}]*fingerprint:"([0-9a-f]{64})"\}/.exec(code);
      expect(fn, `${name}: bundleConfigCache with a fingerprint`).to.not.equal(null);
      const fingerprint = fn![1];
      expect(code, name).to.not.include(FINGERPRINT_PLACEHOLDER);
      const asBundled = code.split(fingerprint).join(FINGERPRINT_PLACEHOLDER);
      expect(crypto.createHash('sha256').update(asBundled).digest('hex'), name).to.equal(fingerprint);
    }
  });
});
