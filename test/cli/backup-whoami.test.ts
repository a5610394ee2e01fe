/**
 * `byninja backup` while trading runs, `backup restore` with it stopped, and `byninja telegram whoami` against
 * the Bot API emulator — all through the compiled CLI as an operator runs it. @slow
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';
import { eventually } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { TelegramEmulator } from '../../harness/telegram-emulator';
import { TRADING_PROCESS_TOKEN, TradingProcess } from '../support/trading-process';

const stateOf = (file: string): { installId: string; seq: number } =>
  (JSON.parse(fs.readFileSync(file, 'utf8')) as { data: { installId: string; seq: number } }).data;

describe('byninja backup, backup restore and telegram whoami @slow', function () {
  this.timeout(90_000);
  let root: string;
  let trading: TradingProcess | undefined;
  let emu: TelegramEmulator | undefined;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-backup-'));
  });
  afterEach(async () => {
    await trading?.stop();
    trading = undefined;
    await emu?.stop();
    emu = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('backs up a consistent copy while trading trades, refuses to restore under it, restores once stopped', async () => {
    const port = await freePort();
    trading = new TradingProcess(root, port);
    await trading.ready;
    const stateFile = path.join(root, 'data', 'trading-state.json');
    await eventually(() => stateOf(stateFile).seq >= 2, 30_000, 'a few orders');
    const env = {
      ...process.env,
      BYNINJA_ENV_FILE: path.join(root, '.env'),
      BYNINJA_DATA_DIR: path.join(root, 'data'),
      BYNINJA_LOG_DIR: path.join(root, 'logs'),
      BYNINJA_IPC_PORT: String(port),
      BYNINJA_IPC_TOKEN: TRADING_PROCESS_TOKEN,
    };
    const out = path.join(root, 'backup-1');
    const made = await runCli(['backup', '--out', out, '--json'], { env, cwd: root });
    expect(made.code, made.stderr + made.stdout).to.equal(0);
    const manifest = JSON.parse(made.stdout).manifest as { files: Array<{ name: string }> };
    expect(manifest.files.map((f) => f.name)).to.include.members([
      'trading-state.json',
      'events.jsonl',
      'paper-exchange.json',
    ]);
    expect(fs.statSync(out).mode & 0o777).to.equal(0o700);
    const saved = stateOf(path.join(out, 'trading-state.json'));
    // journals end on a whole line
    expect(fs.readFileSync(path.join(out, 'events.jsonl'), 'utf8')).to.match(/\n$/);

    const refused = await runCli(['backup', 'restore', out], { env, cwd: root });
    expect(refused.code).to.equal(1);
    expect(refused.stdout + refused.stderr).to.include('stop both first');

    await trading.stop();
    trading = undefined;
    fs.rmSync(stateFile);
    fs.writeFileSync(path.join(out, 'stray.json'), '{}'); // not in the manifest: ignored
    const restored = await runCli(['backup', 'restore', out, '--json'], { env, cwd: root });
    expect(restored.code, restored.stdout + restored.stderr).to.equal(0);
    expect(stateOf(stateFile)).to.deep.include({ installId: saved.installId, seq: saved.seq });
    // what it replaced is kept aside, never deleted
    const archive = fs.readdirSync(path.join(root, 'data', 'archive'));
    expect(archive.some((d) => d.endsWith('-before-restore'))).to.equal(true);

    // trading starts from the restored state: same install id, order ids never reused
    trading = new TradingProcess(root, port);
    await trading.ready;
    await eventually(() => stateOf(stateFile).seq >= saved.seq, 10_000, 'the restored sequence');
    expect(stateOf(stateFile).installId).to.equal(saved.installId);

    // a tampered backup is refused whole
    fs.appendFileSync(path.join(out, 'events.jsonl'), '{"x":1}\n');
    await trading.stop();
    trading = undefined;
    const tampered = await runCli(['backup', 'restore', out], { env, cwd: root });
    expect(tampered.code).to.equal(1);
    expect(tampered.stdout).to.include('differs from the manifest');
  });

  it('a restore that fails half-way puts every file back; a hostile manifest or a FIFO is refused, nothing touched', async () => {
    const port = await freePort();
    trading = new TradingProcess(root, port);
    await trading.ready;
    const stateFile = path.join(root, 'data', 'trading-state.json');
    await eventually(() => stateOf(stateFile).seq >= 1, 30_000, 'an order');
    await trading.stop();
    trading = undefined;
    const env = {
      ...process.env,
      BYNINJA_ENV_FILE: path.join(root, '.env'),
      BYNINJA_DATA_DIR: path.join(root, 'data'),
      BYNINJA_LOG_DIR: path.join(root, 'logs'),
    };
    const out = path.join(root, 'backup-2');
    expect((await runCli(['backup', '--out', out], { env, cwd: root })).code).to.equal(0);

    // the paper account lives in its own dir, where the aside directory cannot be made (a file named archive)
    const paperDir = path.join(root, 'paper');
    fs.mkdirSync(paperDir);
    fs.copyFileSync(
      path.join(root, 'data', 'paper-exchange.json'),
      path.join(paperDir, 'paper-exchange.json'),
    );
    fs.writeFileSync(path.join(paperDir, 'archive'), 'in the way');
    const before = fs.readFileSync(stateFile, 'utf8');
    const failed = await runCli(['backup', 'restore', out], {
      env: { ...env, BYNINJA__TRADING__PAPER__DATA_DIR: paperDir },
      cwd: root,
    });
    expect(failed.code).to.equal(1);
    expect(failed.stdout).to.include('every file is back as it was');
    // before: the data dir's files were already moved aside, and the data dir was left without its state
    expect(fs.readFileSync(stateFile, 'utf8')).to.equal(before);
    expect(fs.existsSync(path.join(paperDir, 'paper-exchange.json'))).to.equal(true);
    const leftovers = [...fs.readdirSync(path.join(root, 'data')), ...fs.readdirSync(paperDir)];
    expect(leftovers.filter((f) => f.endsWith('.restoring'))).to.deep.equal([]);

    const manifestFile = path.join(out, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { files: unknown[] };
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, files: [null] }));
    const hostile = await runCli(['backup', 'restore', out], { env, cwd: root });
    expect(hostile.code).to.equal(1);
    expect(hostile.stdout).to.include('is not a ByNinja backup');
    fs.writeFileSync(manifestFile, JSON.stringify(manifest).slice(0, 40)); // torn
    const torn = await runCli(['backup', 'restore', out], { env, cwd: root });
    expect(torn.code).to.equal(1);
    expect(torn.stdout).to.match(/is not a ByNinja backup \(not valid JSON: .*\): nothing restored/);
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    fs.rmSync(path.join(out, 'events.jsonl'));
    execFileSync('mkfifo', [path.join(out, 'events.jsonl')]);
    const fifo = await runCli(['backup', 'restore', out], { env, cwd: root }); // hung on the FIFO before
    expect(fifo.code).to.equal(1);
    expect(fifo.stdout).to.include('events.jsonl is missing or differs');
    expect(fs.readFileSync(stateFile, 'utf8')).to.equal(before);

    // a torn state is not backed up
    fs.writeFileSync(stateFile, before.slice(0, 40));
    const tornOut = path.join(root, 'backup-torn');
    const tornState = await runCli(['backup', '--out', tornOut], { env, cwd: root });
    expect(tornState.code).to.equal(1);
    expect(tornState.stdout).to.match(
      /trading-state\.json does not pass its schema \(not valid JSON: .*\); no backup written/,
    );
    expect(fs.existsSync(tornOut)).to.equal(false);
  });

  it('telegram whoami prints the chat and user ids of the next message, and the .env lines', async () => {
    emu = await TelegramEmulator.start();
    const env = {
      ...process.env,
      BYNINJA_ENV_FILE: path.join(root, '.env'),
      BYNINJA_DATA_DIR: path.join(root, 'data'),
      BYNINJA_LOG_DIR: path.join(root, 'logs'),
      TELEGRAM_BOT_TOKEN: emu.token,
      TELEGRAM_API_ROOT: emu.apiRoot,
    };
    // a stranger wrote to the (public) bot an hour ago: never reported, their id would be pasted as allowed
    await emu.sendText(666, 'old news', 666, { dateSec: Math.floor(Date.now() / 1000) - 3600 });
    // whoami counts only messages sent after it started: send once it is polling (its first read, then the long poll)
    const polls = (): number => emu!.requests.filter((r) => r.method === 'getUpdates').length;
    const polling = async (before: number): Promise<void> => {
      await eventually(() => polls() >= before + 2, 20_000, 'whoami polling');
    };
    let before = polls();
    const running = runCli(['telegram', 'whoami', '--timeout', '20', '--json'], { env, cwd: root });
    await polling(before);
    await emu.sendText(-100777, 'hello bot', 4242);
    const run = await running;
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.include({ chatId: '-100777', userId: '4242', text: 'hello bot' });

    before = polls();
    const text = runCli(['telegram', 'whoami', '--timeout', '20'], { env, cwd: root });
    await polling(before);
    await emu.sendText(4242, 'me again', 4242);
    const readable = await text;
    expect(readable.stdout).to.include('TELEGRAM_CHAT_ID=4242').and.include('TELEGRAM_ALLOWED_USER_IDS=4242');

    const silent = await runCli(['telegram', 'whoami', '--timeout', '1'], { env, cwd: root });
    expect(silent.code).to.equal(1);
    expect(silent.stderr).to.include('no message reached the bot');
    expect(silent.stdout + silent.stderr).not.to.include(emu.token.split(':')[1]!);
  });
});
