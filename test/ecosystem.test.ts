/**
 * ecosystem.config.js holds the PM2 contract of ARCHITECTURE.md: these options are what make a crash restart,
 * a config error stay down, a stop graceful and the logs land where operators look.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NAMED_ENV } from '../src/shared/config/env-overlay';
import { configSchema, SECRET_ENV } from '../src/shared/config/schema';

const REPO_ROOT = path.resolve(__dirname, '../..');
const ECOSYSTEM = path.join(REPO_ROOT, 'ecosystem.config.js');
/** The ecosystem resolves paths from its own directory (realpath: the checkout, even through a symlink). */
const ECO_DIR = path.dirname(fs.realpathSync(ECOSYSTEM));

interface App {
  name: string;
  script: string;
  pmx?: boolean;
  kill_timeout?: number;
  wait_ready?: boolean;
  listen_timeout?: number;
  exp_backoff_restart_delay?: number;
  stop_exit_codes?: number[];
  out_file?: string;
  error_file?: string;
  max_memory_restart?: string;
  filter_env?: string[];
  env?: Record<string, string>;
  node_args?: string[];
  interpreter_args?: string[];
  interpreter?: string;
  autorestart?: boolean;
}

/** The temp dirs loadEcosystem made, removed after the file's tests. */
const scratches: string[] = [];

/**
 * Loads the ecosystem as PM2 would, with `env` set in the environment for the load only (its dirs default to a
 * temp dir: loading it creates them).
 */
function loadEcosystem(env: Record<string, string | undefined> = {}): App[] {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-eco-'));
  scratches.push(scratch);
  const vars = {
    BYNINJA_LOG_DIR: undefined,
    BYNINJA_DATA_DIR: path.join(scratch, 'data'),
    BYNINJA_ENV_FILE: path.join(scratch, '.env'),
    ...env,
  };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    delete require.cache[require.resolve(ECOSYSTEM)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(ECOSYSTEM) as { apps: App[] }).apps;
  } finally {
    apply(saved);
  }
}

describe('ecosystem.config.js', () => {
  const apps = loadEcosystem();
  after(() => {
    for (const dir of scratches.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const defaults = configSchema().parse({});

  it('defines exactly the two daemons, running compiled JS with plain node', () => {
    expect(apps.map((a) => a.name)).to.deep.equal(['trading', 'telegram']);
    expect(apps[0].script).to.equal(path.join(ECO_DIR, 'dist/daemons/trading.js'));
    expect(apps[1].script).to.equal(path.join(ECO_DIR, 'dist/daemons/telegram.js'));
    for (const app of apps) expect(app.interpreter).to.equal('node');
  });

  for (const name of ['trading', 'telegram']) {
    describe(name, () => {
      const app = (): App => apps.find((a) => a.name === name)!;

      it('disables pmx so our unhandledRejection handler sees rejections', () => {
        expect(app().pmx).to.equal(false);
      });

      it('gives the shutdown more time than its budget before SIGKILL (kill_timeout ≥ 5000, > shutdownBudgetMs and its max)', () => {
        expect(app().kill_timeout).to.be.at.least(5000);
        expect(app().kill_timeout).to.be.greaterThan(defaults.lifecycle.shutdownBudgetMs);
        // Even the largest budget the schema accepts fits.
        expect(() =>
          configSchema().parse({ lifecycle: { shutdownBudgetMs: app().kill_timeout } }),
        ).to.throw();
      });

      it('waits for the ready message, with a listen_timeout', () => {
        expect(app().wait_ready).to.equal(true);
        expect(app().listen_timeout).to.be.a('number').and.greaterThan(0);
      });

      it('restarts crashes with exponential backoff, but not exit 78 (configuration error)', () => {
        expect(app().autorestart).to.equal(true);
        expect(app().exp_backoff_restart_delay).to.be.a('number').and.greaterThan(0);
        expect(app().stop_exit_codes).to.deep.equal([78]);
      });

      it('writes its out/err files under ./logs (or BYNINJA_LOG_DIR)', () => {
        expect(app().out_file).to.equal(path.join(ECO_DIR, 'logs', `${name}.out.log`));
        expect(app().error_file).to.equal(path.join(ECO_DIR, 'logs', `${name}.err.log`));
        const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-eco-logs-'));
        const moved = loadEcosystem({ BYNINJA_LOG_DIR: elsewhere }).find((a) => a.name === name)!;
        expect(moved.out_file).to.equal(path.join(elsewhere, `${name}.out.log`));
        fs.rmSync(elsewhere, { recursive: true, force: true });
      });

      it('has a memory guard', () => {
        expect(app().max_memory_restart).to.match(/^\d+[MG]$/);
      });

      it("gives node no V8 flags (node's own code cache is used) and caps glibc's malloc arenas (the soak's RSS steps)", () => {
        // V8's memory settings are applied by the daemon once ready (heap-settings.test.ts): any V8 flag here would
        // change V8's flag hash and node would compile each of its own modules from source at every start
        expect(app().node_args).to.deep.equal([]);
        // empty, not absent: PM2 keeps an older file's node_args otherwise (ecosystem-node-args-pm2.test.ts)
        expect(app().interpreter_args).to.equal(undefined);
        expect(app().env?.NODE_OPTIONS).to.equal(undefined);
        expect(app().env?.MALLOC_ARENA_MAX).to.equal('2');
      });

      it('names every configuration variable in env (blank when unset), so a start or restart through it applies the shell’s current values', () => {
        const names = [...NAMED_ENV.map((n) => n.env), 'BYNINJA_CONFIG', 'BYNINJA_ENV_FILE'];
        const blank = loadEcosystem(Object.fromEntries(names.map((n) => [n, '']))).find(
          (a) => a.name === name,
        )!;
        for (const n of names) expect(blank.env?.[n], n).to.equal('');
        const set = loadEcosystem({ BYNINJA_IPC_PORT: '41234', BYNINJA__TRADING__CANDLE_LIMIT: '50' }).find(
          (a) => a.name === name,
        )!;
        expect(set.env).to.include({
          BYNINJA_IPC_PORT: '41234',
          BYNINJA__TRADING__CANDLE_LIMIT: '50',
        });
        expect(set.env!.BYNINJA_PM2_VARS!.split(',')).to.include('BYNINJA__TRADING__CANDLE_LIMIT');
      });

      it('puts no secret in env, and filters every secret out of the inherited environment', () => {
        for (const key of Object.keys(app().env ?? {})) {
          expect(key).not.to.match(/(key|secret|password|passphrase|token)/i);
        }
        expect(app().filter_env).to.include.members(Object.values(SECRET_ENV));
      });
    });
  }

  it('before PM2 starts: data and log dirs 0700 (tightened if they exist) and the PM2 out/err files created 0600', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-eco-modes-'));
    try {
      const logDir = path.join(root, 'logs');
      fs.mkdirSync(logDir, { mode: 0o755 });
      fs.chmodSync(logDir, 0o755);
      fs.writeFileSync(path.join(logDir, 'trading.out.log'), 'old\n', { mode: 0o644 });
      // the data dir comes from .env when the environment does not name it
      fs.writeFileSync(path.join(root, '.env'), 'BYNINJA_DATA_DIR=' + path.join(root, 'state') + '\n');
      loadEcosystem({
        BYNINJA_LOG_DIR: logDir,
        BYNINJA_DATA_DIR: undefined,
        BYNINJA_ENV_FILE: path.join(root, '.env'),
      });
      const mode = (f: string): string => (fs.statSync(f).mode & 0o777).toString(8);
      expect(mode(path.join(root, 'state'))).to.equal('700');
      expect(mode(logDir)).to.equal('700');
      for (const app of ['trading', 'telegram'])
        for (const kind of ['out', 'err'])
          expect(mode(path.join(logDir, `${app}.${kind}.log`))).to.equal('600');
      expect(fs.readFileSync(path.join(logDir, 'trading.out.log'), 'utf8')).to.equal('old\n');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a dir setting that cannot be a directory is an error naming it, where it came from and the fix, with no stack', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-eco-baddir-'));
    try {
      fs.writeFileSync(path.join(root, 'a-file'), 'x\n');
      const envFile = path.join(root, '.env');
      fs.writeFileSync(envFile, `BYNINJA_LOG_DIR=${path.join(root, 'a-file', 'logs')}\n`);
      let thrown: Error | undefined;
      try {
        loadEcosystem({ BYNINJA_ENV_FILE: envFile });
      } catch (err) {
        thrown = err as Error;
      }
      expect(thrown, 'the load throws').to.be.instanceOf(Error);
      expect(thrown!.message).to.equal(
        `BYNINJA_LOG_DIR: ${path.join(root, 'a-file', 'logs')} (${envFile}) cannot be used as a directory ` +
          `(ENOTDIR: not a directory, mkdir '${path.join(root, 'a-file', 'logs')}'). Set BYNINJA_LOG_DIR in .env or ` +
          `the environment to a directory this user can create and write (unset: ${path.join(ECO_DIR, 'logs')}), ` +
          'then start again',
      );
      // PM2 prints what the file throws with console.error: its stack is all an operator would read
      expect(thrown!.stack).to.equal(`Error: ${thrown!.message}`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
