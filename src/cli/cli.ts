/**
 * `byninja` — the operator CLI. Same ops core as the Telegram bot (status report, restart, log tail, trading's TCP
 * API); only the output differs (plain text, or JSON with --json for scripts).
 */
import { formatSpan } from '../shared/format-span';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fetchAllOrders } from '../ops/all-orders';
import { formatDoctorReport, runDoctor } from '../ops/doctor';
import { clampLines, DEFAULT_LOG_LINES, MAX_LOG_LINES, tailServiceLogs } from '../ops/log-tail';
import {
  startPair,
  startService,
  stopService,
  upgradePair,
  type ServiceControlOutcome,
} from '../ops/pair-control';
import { CHART_HEIGHT, CHART_WIDTH, renderEquityChart } from '../ops/equity-chart';
import { describeWhoAmI, waitForWhoAmI } from '../ops/telegram-whoami';
import { Pm2Client } from '../ops/pm2-client';
import {
  formatBalance,
  formatCloseAll,
  formatLogTail,
  formatOrders,
  formatPositions,
  formatReport,
  formatRestartOutcomes,
  formatStatus,
  plainMarkup,
} from '../ops/render';
import { restartServices } from '../ops/restart';
import { expandServiceTarget, isServiceName } from '../ops/services';
import { buildStatusReport } from '../ops/status-report';
import { formatInDoubtOrders, formatSettled, parseSettleArgs, settleQuestion } from '../ops/settle-text';
import { formatWrittenOff, parseWriteOffArgs, writeOffQuestion } from '../ops/write-off-text';
import { isUnreachable, withTradingClient, type TradingRpc } from '../ops/trading-client';
import { byninjaVersion } from '../ops/version';
import { loadConfig, loadConfigSections, type LoadedConfig } from '../shared/config/loader';
import type { Secrets, SharedConfig } from '../shared/config/schema';
import type { Clock } from '../shared/clock';
import { ConfigError, IpcTimeoutError, errorMessage } from '../shared/errors';
import type { ReconcileDifference } from '../shared/ipc/protocol';
import { ExitCode } from '../shared/lifecycle/exit-codes';
import { silentLogger } from '../shared/logging/logger';
import { Redactor } from '../shared/logging/redact';
import { writeFileDurable } from '../shared/persistence/durable-file';
import { archiveState, resetState, restoreState } from './state-command';
import { backup, restoreBackup } from './backup-command';

/** Exit codes scripts can rely on (documented in `byninja --help`). */
export const CliExit = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  TradingUnreachable: 3,
  ReconcileDifferences: 4,
  Config: ExitCode.Config,
} as const;

export const USAGE = `Usage: byninja <command> [options]

Commands:
  start [--build] [--restart]     start what is not running (--build: build first when nothing runs;
                                  --restart: restart both, one at a time, with the current build and environment)
  start <trading|telegram>        start one service (current build and environment), wait until it is ready
  stop <trading|telegram|all>     stop gracefully (state saved); PM2 does not restart it until started again
  upgrade                         build, then restart both one at a time, each waited for until ready
  status                          services as PM2 sees them, and trading's own view
  restart <trading|telegram|all>  restart through PM2 (waits until the service is ready)
  logs <trading|telegram> [-n N]  last N lines (default ${DEFAULT_LOG_LINES}, max ${MAX_LOG_LINES}) of PM2's out/err logs and the JSON log
  positions                       open positions
  orders [--all]                  open orders (--all: every order trading keeps)
  balance                         balances and equity
  pnl | report [--chart FILE]     realized PnL today / 7 d / 30 d / all, win rate, fees, best and worst trade,
                                  drawdown, by symbol (from the history journal); --chart writes the equity curve PNG
  closeall [--yes]                cancel open orders, sell every position at market, pause entries (asks first)
  settle                          orders that ended on the bot's inference and are still in question
  settle <id> none [--yes]        settle one as not carried out (its symbol is no longer held; asks first)
  settle <id> filled <amount> <average price> [--yes]
                                  settle one as carried out as the exchange's order history shows (booked; asks)
  writeoff <symbol> [--yes]       write off a holding the bot can no longer sell (below the exchange's minimum,
                                  or delisted) as a loss at price 0; refused for anything sellable (asks first)
  pause [--reason TEXT]           stop opening new positions
  resume                          resume opening positions: lifts every cause of the pause (named), a kill switch too
  reconcile                       compare trading's state with the exchange
  doctor                          check the installation and configuration
  telegram whoami [--timeout S]   wait (default 120 s) for the next message to the bot and print its chat and user
                                  ids, with the .env lines to set (stop the telegram service first)
  backup [--out DIR]              consistent copy of the state while running (default <dataDir>/../backups/<time>)
  backup restore <dir>            put a backup back (both services stopped; the current files are set aside)
  state archive [--abandon]       move trading's state and accounts aside (kept) to start fresh, e.g. on another account;
                                  refused while it holds open positions or working orders (--abandon: archive anyway,
                                  no longer watched). A new API key of the same account needs no archive
  state restore <file>            make a checked copy (e.g. a fixed .corrupt-… file) the trading state again
  state reset                     clear blocked state: the next start begins from defaults

Options:
  --json        machine-readable output (every command but start --build/--restart and upgrade)
  --yes         answer yes to the question closeall, settle and writeoff ask (needed without a terminal)
  -h, --help    this help

Exit codes:
  0   ok
  1   failure (PM2 unreachable, restart failed, trading refused the request, doctor found a problem; no answer
      from trading in time while the link is up: it may still be running — check before running it again)
  2   usage error
  3   trading unreachable (status still prints what PM2 sees)
  4   reconcile found differences
  78  invalid configuration
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Asks a question on the terminal and resolves with the answer; absent when there is no terminal. */
  ask?: (question: string) => Promise<string>;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The one clock of this run: what "now" is in reports, and the deadlines of waits. */
  clock: Clock;
}

class UsageError extends Error {}

interface Ctx {
  config: SharedConfig;
  secrets: Secrets;
  json: boolean;
  io: CliIo;
  print(data: unknown, text: () => string): void;
}

const TRADING_COMMANDS = ['positions', 'orders', 'balance', 'pause', 'resume', 'reconcile', 'pnl', 'report'];

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        all: { type: 'boolean', default: false },
        n: { type: 'string', short: 'n' },
        lines: { type: 'string' },
        reason: { type: 'string' },
        version: { type: 'boolean', short: 'v', default: false },
        build: { type: 'boolean', default: false },
        restart: { type: 'boolean', default: false },
        chart: { type: 'string' },
        timeout: { type: 'string' },
        out: { type: 'string' },
        yes: { type: 'boolean', default: false },
        abandon: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.err(`byninja: ${errorMessage(err)}\n\n${USAGE}`);
    return CliExit.Usage;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out(`byninja ${byninjaVersion()}\n`);
    return CliExit.Ok;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (command || values.help ? io.out : io.err)(USAGE);
    return values.help ? CliExit.Ok : CliExit.Usage;
  }

  if (
    ![
      'start',
      'stop',
      'upgrade',
      'status',
      'restart',
      'logs',
      'doctor',
      'state',
      'closeall',
      'settle',
      'writeoff',
      'telegram',
      'backup',
      ...TRADING_COMMANDS,
    ].includes(command)
  )
    return usage(io, `unknown command "${command}"`);
  const json = values.json === true;
  // doctor reads the configuration itself: an invalid one is one of the things it reports.
  if (command === 'doctor') {
    if (rest.length > 0) return usage(io, `unexpected argument "${rest[0]}"`);
    return doctor(io, json);
  }
  let loaded: LoadedConfig<SharedConfig>;
  try {
    // the shared sections only (dirs, TCP address): a service's own settings are that service's to check
    loaded = loadConfig({ env: io.env, cwd: io.cwd, service: 'cli' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`byninja: ${err.message}\n`);
    // status is what one needs most with a broken configuration: PM2's view does not depend on it
    if (command === 'status' && rest.length === 0) await statusWithoutConfig(io, json).catch(() => undefined);
    return CliExit.Config;
  }
  try {
    const ctx: Ctx = {
      config: loaded.config,
      secrets: loaded.secrets,
      json,
      io,
      print: (data, text) => io.out(json ? JSON.stringify(data, null, 2) + '\n' : text() + '\n'),
    };
    switch (command) {
      case 'start':
        if (rest.length === 1) return await controlService(ctx, 'start', rest[0]!);
        expectArgs(rest, 0);
        return await controlPair(ctx, command, {
          build: values.build === true,
          restart: values.restart === true,
        });
      case 'upgrade':
        expectArgs(rest, 0);
        return await controlPair(ctx, command, { build: false, restart: false });
      case 'stop':
        expectArgs(rest, 1);
        return await controlService(ctx, 'stop', rest[0]!);
      case 'closeall':
        expectArgs(rest, 0);
        return await closeAll(ctx, values.yes === true);
      case 'settle':
        return await settle(ctx, rest, values.yes === true);
      case 'writeoff':
        return await writeOff(ctx, rest, values.yes === true);
      case 'telegram': {
        if (rest[0] !== 'whoami' || rest.length !== 1)
          throw new UsageError('telegram: use "telegram whoami"');
        const seconds = values.timeout === undefined ? 120 : Number(values.timeout);
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600)
          throw new UsageError('--timeout must be a number of seconds from 1 to 3600');
        return await whoAmI(ctx, seconds * 1000);
      }
      case 'backup':
        return await backupCommand(ctx, rest, values.out);
      case 'status':
        expectArgs(rest, 0);
        return await status(ctx);
      case 'restart':
        expectArgs(rest, 1);
        return await restart(ctx, rest[0]!);
      case 'state':
        return await stateCommand(ctx, rest, values.abandon === true);
      case 'logs': {
        expectArgs(rest, 1);
        const n = values.n ?? values.lines;
        const lines = n === undefined ? DEFAULT_LOG_LINES : Number(n);
        if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LOG_LINES)
          throw new UsageError(`-n must be an integer from 1 to ${MAX_LOG_LINES}`);
        return await logs(ctx, rest[0]!, lines);
      }
      default:
        expectArgs(rest, 0);
        return await tradingCommand(ctx, command, {
          all: values.all === true,
          reason: values.reason,
          chart: values.chart,
        });
    }
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err.message);
    if (err instanceof IpcTimeoutError) {
      io.err(
        `byninja: no answer from trading yet (${errorMessage(err)}): it may still be running; check \`byninja positions\` and \`byninja orders\` before running it again\n`,
      );
      return CliExit.Failure;
    }
    if (isUnreachable(err)) {
      io.err(`byninja: trading unreachable: ${errorMessage(err)}\n`);
      return CliExit.TradingUnreachable;
    }
    io.err(`byninja: ${errorMessage(err)}\n`);
    return CliExit.Failure;
  }
}

async function stateCommand(ctx: Ctx, rest: string[], abandon: boolean): Promise<number> {
  // the paper account may live apart (trading.paper.dataDir): trading's own section says where
  const trading = loadConfigSections({ env: ctx.io.env, cwd: ctx.io.cwd, sections: ['app', 'trading'] })
    .config.trading;
  const dirs = {
    dataDir: ctx.config.app.dataDir,
    paperDir: trading?.paper.dataDir ?? ctx.config.app.dataDir,
  };
  const [action, ...args] = rest;
  let outcome;
  if (action === 'restore') {
    expectArgs(args, 1);
    outcome = await restoreState(dirs, path.resolve(ctx.io.cwd, args[0]!), ctx.io.clock);
  } else if (action === 'reset') {
    expectArgs(args, 0);
    outcome = await resetState(dirs, ctx.io.clock);
  } else if (action === 'archive') {
    expectArgs(args, 0);
    outcome = await archiveState(dirs, ctx.io.clock, { abandon });
  } else throw new UsageError('state: use "state archive", "state restore <file>" or "state reset"');
  ctx.print(outcome, () => outcome.message);
  return outcome.ok ? CliExit.Ok : CliExit.Failure;
}

function usage(io: CliIo, message: string): number {
  io.err(`byninja: ${message}\n\n${USAGE}`);
  return CliExit.Usage;
}

function expectArgs(rest: string[], count: number): void {
  if (rest.length !== count)
    throw new UsageError(count === 0 ? `unexpected argument "${rest[0]}"` : 'missing or extra arguments');
}

function oneShot<T>(ctx: Ctx, fn: (t: TradingRpc) => Promise<T>): Promise<T> {
  return withTradingClient(
    {
      config: ctx.config,
      secrets: ctx.secrets,
      dataDir: ctx.config.app.dataDir,
      logger: silentLogger(),
      client: 'cli',
      clock: ctx.io.clock,
    },
    fn,
  );
}

async function withPm2<T>(clock: Clock, fn: (pm2: Pm2Client) => Promise<T>): Promise<T> {
  // Never spawn a PM2 daemon from the CLI: "not running" is an answer, an empty new daemon is not.
  const pm2 = new Pm2Client({ spawnDaemon: false, clock });
  try {
    return await fn(pm2);
  } finally {
    await pm2.disconnect().catch(() => undefined);
  }
}

async function status(ctx: Ctx): Promise<number> {
  const report = await withPm2(ctx.io.clock, (pm2) =>
    buildStatusReport({
      pm2,
      trading: () => oneShot(ctx, (t) => t.call('status', {})),
      dataDir: ctx.config.app.dataDir,
      now: ctx.io.clock.now(),
    }),
  );
  ctx.print(report, () => formatStatus(report, plainMarkup));
  if (!report.trading.reachable) return CliExit.TradingUnreachable;
  return report.pm2.reachable ? CliExit.Ok : CliExit.Failure;
}

/** PM2's view (and the services' own records in the data dir, when it can still be found) without a valid config. */
async function statusWithoutConfig(io: CliIo, json: boolean): Promise<void> {
  let dataDir: string;
  try {
    dataDir = loadConfigSections({ env: io.env, cwd: io.cwd, sections: ['app'] }).config.app!.dataDir;
  } catch {
    dataDir = path.resolve(io.cwd, io.env.BYNINJA_DATA_DIR || './data');
  }
  const report = await withPm2(io.clock, (pm2) =>
    buildStatusReport({
      pm2,
      trading: () => Promise.reject(new Error('not asked: the configuration above is invalid')),
      dataDir,
      now: io.clock.now(),
    }),
  );
  io.out(json ? JSON.stringify(report, null, 2) + '\n' : formatStatus(report, plainMarkup) + '\n');
}

/** The checkout this CLI was built from: ecosystem.config.js and scripts/build.js live there. */
const INSTALL_ROOT = path.resolve(__dirname, '../../..');

async function controlPair(
  ctx: Ctx,
  command: 'start' | 'upgrade',
  mode: { build: boolean; restart: boolean },
): Promise<number> {
  // starting is the one thing that may bring up a PM2 daemon
  const pm2 = new Pm2Client({ clock: ctx.io.clock });
  try {
    const opts = {
      pm2,
      ecosystem: path.join(INSTALL_ROOT, 'ecosystem.config.js'),
      dataDir: ctx.config.app.dataDir,
      build: () => runBuild(),
      out: (line: string) => ctx.io.out(`${line}\n`),
      clock: ctx.io.clock,
    };
    const ok = command === 'upgrade' ? await upgradePair(opts) : await startPair(opts, mode);
    return ok ? CliExit.Ok : CliExit.Failure;
  } finally {
    await pm2.disconnect().catch(() => undefined);
  }
}

/** `npm run build` (scripts/build.js), its output shown as it goes. */
function runBuild(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(INSTALL_ROOT, 'scripts', 'build.js')], {
      cwd: INSTALL_ROOT,
      stdio: 'inherit',
    });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}

async function restart(ctx: Ctx, target: string): Promise<number> {
  const targets = expandServiceTarget(target);
  if (!targets) throw new UsageError(`restart: unknown service "${target}" (trading, telegram or all)`);
  const outcomes = await withPm2(ctx.io.clock, (pm2) => restartServices(targets, { pm2 }));
  ctx.print(outcomes, () => formatRestartOutcomes(outcomes, plainMarkup, { status: 'byninja status' }));
  return outcomes.every((o) => o.ok) ? CliExit.Ok : CliExit.Failure;
}

async function logs(ctx: Ctx, service: string, lines: number): Promise<number> {
  if (!isServiceName(service))
    throw new UsageError(`logs: unknown service "${service}" (trading or telegram)`);
  const proc = await withPm2(ctx.io.clock, (pm2) => pm2.describe(service)).catch(() => undefined);
  const redactor = new Redactor(Object.values(ctx.secrets));
  const tail = await tailServiceLogs({
    service,
    lines: clampLines(lines),
    logDir: path.resolve(ctx.config.app.logDir),
    redactor,
    ...(proc ? { pm2: proc } : {}),
  });
  ctx.print(tail, () => formatLogTail(tail, plainMarkup));
  return CliExit.Ok;
}

function formatDifferences(diffs: ReconcileDifference[]): string {
  if (diffs.length === 0) return 'Reconcile: state and exchange agree.';
  return [
    `Reconcile: ${diffs.length} difference${diffs.length === 1 ? '' : 's'}`,
    ...diffs.map((d) => `  ${d.kind}${d.clientOrderId ? ` ${d.clientOrderId}` : ''}: ${d.detail}`),
  ].join('\n');
}

async function tradingCommand(
  ctx: Ctx,
  command: string,
  opts: { all: boolean; reason?: string; chart?: string },
): Promise<number> {
  return oneShot(ctx, async (t) => {
    switch (command) {
      case 'pnl':
      case 'report': {
        const report = await t.call('report', {});
        let chart: { file: string; bytes: number } | { file: string; error: string } | undefined;
        if (opts.chart !== undefined) {
          const file = path.resolve(ctx.io.cwd, opts.chart);
          try {
            const png = renderEquityChart(report);
            // the equity is private: a new owner-only file renamed into place (an existing file's mode, or a
            // symlink's target, is never written through), like every file the bot writes
            await writeFileDurable(file, png, { mode: 0o600 });
            chart = { file, bytes: png.length };
          } catch (err) {
            chart = { file, error: errorMessage(err) };
          }
        }
        // the report is printed whatever became of the chart
        ctx.print({ ...report, ...(chart ? { chart } : {}) }, () =>
          [
            formatReport(report, plainMarkup),
            ...(chart
              ? [
                  'error' in chart
                    ? `equity chart NOT written to ${chart.file}: ${chart.error}`
                    : `equity chart: ${chart.file} (${CHART_WIDTH}×${CHART_HEIGHT} PNG)`,
                ]
              : []),
          ].join('\n'),
        );
        return chart && 'error' in chart ? CliExit.Failure : CliExit.Ok;
      }
      case 'positions': {
        const positions = await t.call('positions', {});
        ctx.print(positions, () => formatPositions(positions, undefined, plainMarkup, ctx.io.clock.now()));
        return CliExit.Ok;
      }
      case 'orders': {
        const orders = opts.all ? (await fetchAllOrders(t)).orders : await t.call('orders', {});
        ctx.print(orders, () => formatOrders(orders, opts.all, plainMarkup));
        return CliExit.Ok;
      }
      case 'balance': {
        const balance = await t.call('balance', {});
        ctx.print(balance, () => formatBalance(balance, plainMarkup));
        return CliExit.Ok;
      }
      case 'pause': {
        const result = await t.call('pause', { reason: opts.reason ?? 'paused from the CLI' });
        ctx.print(result, () => `Trading paused${result.reason ? `: ${result.reason}` : ''}.`);
        return CliExit.Ok;
      }
      case 'resume': {
        // the pause it lifts, named (as /resume names it): every cause, a kill switch included
        const before = await t.call('status', {});
        const wasPaused = before.paused ? (before.pausedReason ?? 'no reason given') : null;
        const result = await t.call('resume', {});
        const still = result.paused ? ((await t.call('status', {})).pausedReason ?? 'no reason given') : null;
        ctx.print({ ...result, wasPaused }, () =>
          still !== null
            ? `Trading is still paused: ${still}.`
            : wasPaused === null
              ? 'Trading was not paused: nothing to resume.'
              : `Trading resumed (was paused: ${wasPaused}).`,
        );
        return result.paused ? CliExit.Failure : CliExit.Ok;
      }
      default: {
        const result = await t.call('reconcile', {});
        ctx.print(result, () => formatDifferences(result.differences));
        return result.differences.length > 0 ? CliExit.ReconcileDifferences : CliExit.Ok;
      }
    }
  });
}

async function backupCommand(ctx: Ctx, rest: string[], out: string | undefined): Promise<number> {
  const trading = loadConfigSections({ env: ctx.io.env, cwd: ctx.io.cwd, sections: ['app', 'trading'] })
    .config.trading;
  const dirs = {
    dataDir: ctx.config.app.dataDir,
    paperDir: trading?.paper.dataDir ?? ctx.config.app.dataDir,
  };
  let outcome;
  if (rest[0] === 'restore') {
    expectArgs(rest.slice(1), 1);
    if (out !== undefined)
      throw new UsageError('backup restore <dir> takes no --out: it restores into the data dir');
    outcome = await restoreBackup(dirs, path.resolve(ctx.io.cwd, rest[1]!), ctx.io.clock);
  } else {
    expectArgs(rest, 0);
    const now = ctx.io.clock.now();
    const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
    const dir = out
      ? path.resolve(ctx.io.cwd, out)
      : path.join(path.dirname(ctx.config.app.dataDir), 'backups', `byninja-${stamp}`);
    outcome = await backup(dirs, dir, ctx.io.clock);
  }
  ctx.print(outcome, () => outcome.message);
  return outcome.ok ? CliExit.Ok : CliExit.Failure;
}

async function whoAmI(ctx: Ctx, timeoutMs: number): Promise<number> {
  const token = ctx.secrets.telegramBotToken;
  if (!token) throw new UsageError('telegram whoami: set TELEGRAM_BOT_TOKEN in .env first (from BotFather)');
  const telegram = loadConfigSections({ env: ctx.io.env, cwd: ctx.io.cwd, sections: ['telegram'] }).config
    .telegram!;
  if (!ctx.json)
    ctx.io.out(
      `Send any message to your bot (or in the group it is in); waiting ${formatSpan(timeoutMs)}…\n`,
    );
  const outcome = await waitForWhoAmI({ token, apiRoot: telegram.apiRoot, timeoutMs, clock: ctx.io.clock });
  if (!outcome.ok) {
    if (ctx.json) ctx.io.out(JSON.stringify(outcome, null, 2) + '\n');
    else ctx.io.err(`byninja: ${outcome.message}\n`);
    return CliExit.Failure;
  }
  ctx.print(outcome.who, () => describeWhoAmI(outcome.who));
  return CliExit.Ok;
}

/**
 * Asks `question` on a terminal (or takes --yes); never goes on without an answer (a script must say --yes). False
 * (printed) when the answer is not "yes".
 */
async function confirmedByOperator(
  ctx: Ctx,
  command: string,
  question: string,
  yes: boolean,
  notDone: Record<string, unknown>,
): Promise<boolean> {
  if (yes) return true;
  const answer = ctx.io.ask ? await ctx.io.ask(`${question} Type "yes" to confirm: `) : undefined;
  if (answer === undefined) throw new UsageError(`${command}: no terminal to ask on; add --yes to confirm`);
  if (answer.trim().toLowerCase() === 'yes') return true;
  ctx.print({ ...notDone, reason: 'not confirmed' }, () => 'Not confirmed — nothing done.');
  return false;
}

/** `settle`: lists the orders in question, or settles one on the operator's word (asks first). */
async function settle(ctx: Ctx, args: string[], yes: boolean): Promise<number> {
  if (args.length === 0) {
    return oneShot(ctx, async (t) => {
      const orders = await t.call('inDoubtOrders', {});
      ctx.print(orders, () => formatInDoubtOrders(orders, plainMarkup, 'byninja settle'));
      return CliExit.Ok;
    });
  }
  const parsed = parseSettleArgs(args);
  if (!parsed.ok) throw new UsageError(`settle: ${parsed.problem}`);
  const question = settleQuestion(parsed.params, plainMarkup);
  if (!(await confirmedByOperator(ctx, 'settle', question, yes, { settled: false }))) {
    return CliExit.Failure;
  }
  return oneShot(ctx, async (t) => {
    const result = await t.call('settleOrder', parsed.params);
    ctx.print(result, () => formatSettled(parsed.params, result, plainMarkup));
    return CliExit.Ok;
  });
}

/** `writeoff <symbol>`: writes off a holding the bot can no longer sell on the operator's word (asks first). */
async function writeOff(ctx: Ctx, args: string[], yes: boolean): Promise<number> {
  const parsed = parseWriteOffArgs(args);
  if (!parsed.ok) throw new UsageError(`writeoff: ${parsed.problem}`);
  const question = writeOffQuestion(parsed.symbol, plainMarkup);
  if (!(await confirmedByOperator(ctx, 'writeoff', question, yes, { writtenOff: false }))) {
    return CliExit.Failure;
  }
  return oneShot(ctx, async (t) => {
    const result = await t.call('writeOff', { symbol: parsed.symbol });
    ctx.print(result, () => formatWrittenOff(result, plainMarkup));
    return CliExit.Ok;
  });
}

/** `closeall`: asks on a terminal (or takes --yes). */
async function closeAll(ctx: Ctx, yes: boolean): Promise<number> {
  const question = 'Close ALL positions at market and pause entries?';
  if (!(await confirmedByOperator(ctx, 'closeall', question, yes, { closed: false }))) return CliExit.Failure;
  return oneShot(ctx, async (t) => {
    const result = await t.call('closeAll', {});
    ctx.print(result, () =>
      formatCloseAll(result, plainMarkup, { again: 'run closeall again', resume: 'byninja resume' }),
    );
    return result.skipped.length > 0 ? CliExit.Failure : CliExit.Ok;
  });
}

/** `start <service>` / `stop <service|all>`. */
async function controlService(ctx: Ctx, action: 'start' | 'stop', target: string): Promise<number> {
  const names =
    action === 'stop' ? expandServiceTarget(target) : isServiceName(target) ? [target] : undefined;
  if (!names) {
    throw new UsageError(
      `${action}: unknown service "${target}" (trading or telegram${action === 'stop' ? ', or all' : ''})`,
    );
  }
  // starting is the one thing that may bring up a PM2 daemon
  const pm2 = new Pm2Client({ clock: ctx.io.clock, spawnDaemon: action !== 'start' ? false : undefined });
  const outcomes: ServiceControlOutcome[] = [];
  try {
    const opts = {
      pm2,
      ecosystem: path.join(INSTALL_ROOT, 'ecosystem.config.js'),
      dataDir: ctx.config.app.dataDir,
      build: () => runBuild(),
      clock: ctx.io.clock,
      out: (line: string) => {
        if (!ctx.json) ctx.io.out(`${line}\n`);
      },
    };
    for (const name of names)
      outcomes.push(action === 'start' ? await startService(opts, name) : await stopService(opts, name));
  } finally {
    await pm2.disconnect().catch(() => undefined);
  }
  if (ctx.json) ctx.io.out(JSON.stringify(outcomes, null, 2) + '\n');
  return outcomes.every((o) => o.ok) ? CliExit.Ok : CliExit.Failure;
}

async function doctor(io: CliIo, json: boolean): Promise<number> {
  const result = await runDoctor(io.env, { cwd: io.cwd, clock: io.clock });
  io.out(json ? JSON.stringify(result, null, 2) + '\n' : formatDoctorReport(result) + '\n');
  return result.ok ? CliExit.Ok : CliExit.Failure;
}
