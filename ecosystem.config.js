// PM2 apps of ByNinja. CommonJS on purpose: PM2 require()s this file ("export default" fails: "No script path").
// Run with `npm start` (starts what is not running, through this file), `npm restart`, `npm run upgrade`. Secrets
// never go here: PM2 copies `env` into every bus packet and into its dump file. They come from `.env` (read
// in-process) — see `filter_env` below.
const fs = require('node:fs');
const path = require('node:path');

/**
 * The data and log dirs as the daemons will resolve them (environment first, then .env, then the defaults;
 * relative to this directory, the apps' cwd), with where each came from. Only these two names are read from .env:
 * no secret passes here.
 */
function configuredDir(name, fallback) {
  let value = process.env[name];
  let source = 'the environment';
  if (!value) {
    try {
      const envFile = path.resolve(__dirname, process.env.BYNINJA_ENV_FILE || '.env');
      value = require('dotenv').parse(fs.readFileSync(envFile))[name];
      source = envFile;
    } catch {
      // no .env: the defaults
    }
  }
  if (!value) source = `the default, ${name} unset`;
  return { name, source, dir: path.resolve(__dirname, value || fallback), fallback };
}

const logDir = configuredDir('BYNINJA_LOG_DIR', 'logs');
const dataDir = configuredDir('BYNINJA_DATA_DIR', 'data');

/**
 * Before PM2 opens anything: data and log dirs 0700, and the PM2 out/err files created 0600 (PM2 would create
 * them with its umask, 0644 by default, and they hold orders, equity and chat ids). Existing ones are tightened.
 * A dir that cannot be made (a path under a regular file, no permission) is a configuration error: it names the
 * setting and the fix. PM2 prints what this file throws with its stack, so the error carries none (the fs error's
 * own words are in the message).
 */
function makePrivate(setting, files) {
  try {
    fs.mkdirSync(setting.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(setting.dir, 0o700);
    for (const file of files) {
      fs.closeSync(fs.openSync(file, 'a', 0o600));
      fs.chmodSync(file, 0o600);
    }
  } catch (err) {
    const message =
      `${setting.name}: ${setting.dir} (${setting.source}) cannot be used as a directory (${err.message}). ` +
      `Set ${setting.name} in .env or the environment to a directory this user can create and write ` +
      `(unset: ${path.resolve(__dirname, setting.fallback)}), then start again`;
    const error = new Error(message);
    error.stack = `Error: ${message}`;
    throw error;
  }
}
const logFiles = ['trading', 'telegram'].flatMap((app) => [
  path.join(logDir.dir, `${app}.out.log`),
  path.join(logDir.dir, `${app}.err.log`),
]);
makePrivate(dataDir, []);
makePrivate(logDir, logFiles);

// The configuration variables the services read (src/shared/config/env-overlay.ts NAMED_ENV, plus the two that
// locate the config files), taken from the shell that runs `pm2 start|restart ecosystem.config.js` — which is what
// `npm start`, `npm restart` and `npm run upgrade` do. PM2 keeps an app's environment from its first start and
// refreshes only what this file names, so each is named here, blank when unset (a blank counts as unset: .env
// applies): every start or restart through this file applies the current values and forgets removed ones.
// BYNINJA__SECTION__KEY variables are passed as they are, and BYNINJA_PM2_VARS lists them: one left in PM2's copy
// by an earlier start is not listed, and the services ignore it. No secret is ever named here (filter_env below).
const CONFIG_VARIABLES = [
  'BYNINJA_CONFIG',
  'BYNINJA_ENV_FILE',
  'BYNINJA_DATA_DIR',
  'BYNINJA_LOG_DIR',
  'BYNINJA_LOG_LEVEL',
  'BYNINJA_IPC_PORT',
  'BYNINJA_MODE',
  'TELEGRAM_CHAT_ID',
  'TELEGRAM_ALLOWED_CHAT_IDS',
  'TELEGRAM_ALLOWED_USER_IDS',
  'TELEGRAM_API_ROOT',
];
const genericVariables = Object.keys(process.env)
  .filter((name) => name.startsWith('BYNINJA__'))
  .sort();
const configEnv = { BYNINJA_PM2_VARS: genericVariables.join(',') };
for (const name of CONFIG_VARIABLES) configEnv[name] = process.env[name] || '';
for (const name of genericVariables) configEnv[name] = withholdSecrets(name, process.env[name]);

/**
 * A secret given as a generic variable (BYNINJA__EXCHANGE__SECRET, or a section as JSON holding one) is refused by
 * the services ("secrets only from the environment: set EXCHANGE_SECRET in .env and unset …"), but PM2 would keep
 * its value in its environment copy and dump.pm2 for good: PM2 gets a placeholder instead, in the same place, so
 * the refusal and its fix are the same. Secret names as the loader's (src/shared/config/loader.ts SECRET_KEY).
 */
function withholdSecrets(name, text) {
  const SECRET_KEY = /(api_?key|secret|password|passphrase|token|private_?key)/i;
  const WITHHELD = '[withheld from PM2: a secret]';
  if (name.split('__').some((segment) => SECRET_KEY.test(segment))) return WITHHELD;
  const strip = (node) => {
    if (!node || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map(strip);
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, SECRET_KEY.test(k) ? WITHHELD : strip(v)]),
    );
  };
  try {
    const value = JSON.parse(text);
    const stripped = strip(value);
    return JSON.stringify(stripped) === JSON.stringify(value) ? text : JSON.stringify(stripped);
  } catch {
    return text;
  }
}

/** Options both daemons share; each line says why. */
const common = {
  cwd: __dirname,
  // PM2's injected @pm2/io module swallows unhandledRejection; our own crash handlers must see it.
  pmx: false,
  // Run compiled JS with plain node: tsx/ts-node mishandle signals and slow every restart.
  interpreter: 'node',
  // Memory guard: a leak restarts the service (a clean shutdown, so state is flushed) instead of the box swapping.
  max_memory_restart: '400M',
  // Our shutdown budget is 5000 ms (lifecycle.shutdownBudgetMs); PM2 SIGKILLs only after this.
  kill_timeout: 8000,
  // The service calls process.send('ready') once state is loaded and reconciled; PM2 waits for it…
  wait_ready: true,
  // …but marks the app online anyway after this long, so trading also refuses to trade until really ready.
  listen_timeout: 20000,
  // Crash restarts back off 100 ms → 200 ms → … → 15 s, reset after 30 s of uptime: no hot restart loop.
  exp_backoff_restart_delay: 100,
  // Exit 78 = configuration error: restarting cannot fix it, so PM2 must not restart-loop it.
  stop_exit_codes: [78],
  // A process that dies within min_uptime counts toward max_restarts (PM2 guards only a service's first seconds;
  // the telegram supervisor's crash-loop policy covers later loops).
  min_uptime: 5000,
  max_restarts: 15,
  // Restart on any other exit. `pm2 stop` sends SIGINT (our shutdown coordinator), then SIGKILL after kill_timeout.
  autorestart: true,
  // Keep secrets out of PM2's env copy even when they are exported in the shell that ran `pm2 start`.
  filter_env: [
    'EXCHANGE_API_KEY',
    'EXCHANGE_SECRET',
    'EXCHANGE_PASSWORD',
    'TELEGRAM_BOT_TOKEN',
    'BYNINJA_IPC_TOKEN',
  ],
  // One out/err file pair per service (no per-instance suffix); each service bounds its own pair by copy-truncate
  // (logging.pm2LogMaxBytes, src/shared/logging/pm2-log-rotation.ts) — no pm2-logrotate module needed.
  merge_logs: true,
  // Our console lines carry their own ISO timestamp; PM2's prefix would double it.
  time: false,
  // No node_args: V8's memory settings (the young generation kept from growing, compaction at every full
  // collection: docs/operations.md, Memory) are applied by each daemon once it is ready
  // (src/shared/lifecycle/heap-settings.ts). Any V8 flag here would make V8 reject node's own code cache: ~19 ms
  // more of every start.
  env: {
    NODE_ENV: 'production',
    // glibc gives each thread that mallocs (libuv's fs pool, V8's GC and compiler threads, the watchdog worker) its
    // own arena, up to 8 per core, each keeping freed pages: 6-9 MiB more RSS per daemon in the soak. Two arenas are
    // plenty for one JS thread and a few helpers.
    MALLOC_ARENA_MAX: '2',
    ...configEnv,
  },
};

module.exports = {
  apps: [
    {
      ...common,
      name: 'trading',
      // One bundled file per daemon (scripts/bundle.ts): module loading was most of a restart.
      script: path.join(__dirname, 'dist/daemons/trading.js'),
      out_file: path.join(logDir.dir, 'trading.out.log'),
      error_file: path.join(logDir.dir, 'trading.err.log'),
    },
    {
      ...common,
      name: 'telegram',
      script: path.join(__dirname, 'dist/daemons/telegram.js'),
      out_file: path.join(logDir.dir, 'telegram.out.log'),
      error_file: path.join(logDir.dir, 'telegram.err.log'),
      // The supervisor must not be killed for memory while it reports others' crashes.
      max_memory_restart: '300M',
    },
  ],
};
