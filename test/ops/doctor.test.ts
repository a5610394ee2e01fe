import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { formatDoctorReport, runDoctor, type DoctorResult } from '../../src/ops/doctor';
import { systemClock, type Clock } from '../../src/shared/clock';
import { FakeClock } from '../support/fake-clock';
import { silentLogger } from '../../src/shared/logging/logger';
import { freshNotices } from '../../src/trading/engine/exchange-watch/key-limits';
import { KeyNoticeFile } from '../../src/trading/engine/exchange-watch/key-notice-file';
import { hiddenStateCause, hiddenStateReason } from '../../src/trading/engine/start/hidden-state';
import { STATE_VERSION, defaultTradingState } from '../../src/trading/engine/state/trading-state';
import { apiKeyFingerprint } from '../../src/trading/exchange/ccxt-exchange';
import { Pm2Harness } from '../../harness/pm2';
import { freePort } from '../../harness/ports';
import { Store } from '../../src/shared/persistence/store';
import {
  OUTBOX_STORE_NAME,
  OUTBOX_STORE_VERSION,
  validateOutboxState,
} from '../../src/telegram/notify/outbox';
import { emptyOutboxState, type OutboxState } from '../../src/telegram/notify/outbox-queue';

describe('doctor', function () {
  this.timeout(30_000);
  let root: string;
  let built: string;
  const servers: net.Server[] = [];

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-doctor-'));
    built = path.join(root, 'install');
    for (const svc of ['trading', 'telegram']) {
      fs.mkdirSync(path.join(built, 'dist/daemons'), { recursive: true });
      fs.writeFileSync(path.join(built, 'dist/daemons', `${svc}.js`), '');
    }
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** A Bot API that knows one token (a well-formed one) and refuses every other with 401. */
  const GOOD_TOKEN = '123456789:AAHgoodtokengoodtokengoodtokengood1';
  const botApi: typeof fetch = async (url) =>
    String(url).includes(`/bot${GOOD_TOKEN}/getMe`)
      ? new Response(JSON.stringify({ ok: true, result: { id: 123456789, username: 'ninja_bot' } }))
      : new Response(JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized' }), {
          status: 401,
        });

  async function doctor(
    env: Record<string, string> = {},
    installRoot = built,
    clock: Clock = systemClock,
  ): Promise<DoctorResult> {
    const port = env.BYNINJA_IPC_PORT ?? String(await freePort());
    return runDoctor(
      {
        BYNINJA_ENV_FILE: path.join(root, '.env'),
        BYNINJA_DATA_DIR: path.join(root, 'data'),
        BYNINJA_LOG_DIR: path.join(root, 'logs'),
        PM2_HOME: path.join(root, 'no-pm2'),
        BYNINJA_IPC_PORT: port,
        BYNINJA__HTTP__TRADING_PORT: String(await freePort()),
        BYNINJA__HTTP__TELEGRAM_PORT: String(await freePort()),
        ...env,
      },
      { root: installRoot, cwd: root, fetch: botApi, clock },
    );
  }
  const check = (r: DoctorResult, name: string) => r.checks.find((c) => c.name === name)!;

  it('passes on a healthy install with no configuration, warning about PM2 not running and Telegram log-only', async () => {
    const r = await doctor();
    expect(r.ok, formatDoctorReport(r)).to.equal(true);
    expect(check(r, 'node').ok).to.equal(true);
    expect(check(r, 'configuration (trading)').detail).to.match(/^valid \(mode paper/);
    expect(check(r, 'configuration (telegram)').detail).to.match(/^valid \(file none/);
    expect(check(r, 'pm2')).to.include({ ok: true, warning: true });
    expect(check(r, 'telegram')).to.include({ ok: true, warning: true });
    expect(check(r, 'telegram').detail).to.match(/log-only/);
    expect(check(r, 'ipc port').detail).to.match(/is free/);
  });

  it('lists every configuration problem under the service it stops, and fails', async () => {
    const r = await doctor({ BYNINJA_MODE: 'nope', BYNINJA__TRADING__TYPO: '1' });
    expect(r.ok).to.equal(false);
    const cfg = check(r, 'configuration (trading)');
    expect(cfg.ok).to.equal(false);
    expect(cfg.detail).to.match(/^2 problems: trading will not start \(exit 78\)/);
    expect(cfg.detail)
      .to.include('trading.mode (env BYNINJA_MODE)')
      .and.include('trading.typo (env BYNINJA__TRADING__TYPO)');
    // a trading setting never stops the telegram service
    expect(check(r, 'configuration (telegram)').ok).to.equal(true);
  });

  it('a bot token without a chat id is a warning (alerts to the log), and so is no allowed chat id', async () => {
    const noChat = await doctor({ TELEGRAM_BOT_TOKEN: GOOD_TOKEN });
    expect(noChat.ok, formatDoctorReport(noChat)).to.equal(true);
    expect(check(noChat, 'telegram alerts')).to.include({ ok: true, warning: true });
    expect(check(noChat, 'telegram alerts').detail).to.match(/alerts go to the log only/);
    expect(check(noChat, 'configuration (trading)').ok).to.equal(true);
    expect(formatDoctorReport(noChat)).not.to.include(GOOD_TOKEN.split(':')[1]);
    const noAllowed = await doctor({ TELEGRAM_BOT_TOKEN: GOOD_TOKEN, TELEGRAM_CHAT_ID: '42' });
    expect(noAllowed.ok).to.equal(true);
    expect(check(noAllowed, 'telegram commands')).to.include({ ok: true, warning: true });
  });

  it("checks the bot token's shape, then asks the Bot API (getMe): known, refused (401) or not reachable", async () => {
    const known = await doctor({ TELEGRAM_BOT_TOKEN: GOOD_TOKEN, TELEGRAM_CHAT_ID: '42' });
    expect(check(known, 'telegram token')).to.include({ ok: true });
    expect(check(known, 'telegram token').detail).to.include('bot @ninja_bot');
    const revoked = '123456789:AAHrevokedrevokedrevokedrevokedrevo';
    const refused = await doctor({ TELEGRAM_BOT_TOKEN: revoked, TELEGRAM_CHAT_ID: '42' });
    expect(check(refused, 'telegram token')).to.include({ ok: false });
    expect(check(refused, 'telegram token').detail).to.match(/refuses this token \(401/);
    expect(formatDoctorReport(refused)).not.to.include('AAHrevoked');
    const malformed = await doctor({ TELEGRAM_BOT_TOKEN: 'my-token', TELEGRAM_CHAT_ID: '42' });
    expect(check(malformed, 'telegram token')).to.include({ ok: false });
    expect(check(malformed, 'telegram token').detail).to.match(/does not look like a bot token/);
    const offline = await runDoctor(
      {
        BYNINJA_ENV_FILE: path.join(root, '.env'),
        TELEGRAM_BOT_TOKEN: GOOD_TOKEN,
        PM2_HOME: path.join(root, 'p'),
      },
      {
        root: built,
        cwd: root,
        clock: systemClock,
        fetch: async () => {
          throw new Error(`connect ECONNREFUSED for /bot${GOOD_TOKEN}/getMe`);
        },
      },
    );
    expect(check(offline, 'telegram token')).to.include({ ok: true, warning: true });
    expect(check(offline, 'telegram token').detail).to.match(/not reachable/);
    expect(formatDoctorReport(offline)).not.to.include(GOOD_TOKEN.split(':')[1]);
  });

  it('suggests the closest ccxt exchange id for a typo, and says live needs a verified exchange', async () => {
    const typo = await doctor({ BYNINJA_MODE: 'dry-run', BYNINJA__TRADING__EXCHANGE: 'binanse' });
    expect(check(typo, 'exchange')).to.include({ ok: false });
    expect(check(typo, 'exchange').detail).to.include('did you mean "binance"?');
    const kraken = await doctor({ BYNINJA_MODE: 'dry-run', BYNINJA__TRADING__EXCHANGE: 'kraken' });
    expect(check(kraken, 'exchange')).to.include({ ok: true });
    const live = await doctor({
      BYNINJA_MODE: 'live',
      BYNINJA__TRADING__EXCHANGE: 'kraken',
      EXCHANGE_API_KEY: 'key-0123456789',
      EXCHANGE_SECRET: 'secret-0123456789',
    });
    expect(check(live, 'exchange')).to.include({ ok: false });
    expect(check(live, 'exchange').detail).to.match(/live mode runs only on a verified exchange \(binance/);
  });

  it('names the settings to change when the telegram service follows a group Telegram upgraded to a supergroup', async () => {
    const env = {
      TELEGRAM_BOT_TOKEN: GOOD_TOKEN,
      TELEGRAM_CHAT_ID: '-4001',
      TELEGRAM_ALLOWED_CHAT_IDS: '-4001',
    };
    expect((await doctor(env)).checks.find((c) => c.name === 'telegram chat moved')).to.equal(undefined);
    // the outbox store as the telegram service keeps it, with the move it learned
    fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o700 });
    const store = await Store.open<OutboxState>({
      clock: systemClock,
      dir: path.join(root, 'data'),
      name: OUTBOX_STORE_NAME,
      version: OUTBOX_STORE_VERSION,
      defaults: emptyOutboxState,
      validate: validateOutboxState,
    });
    await store.commit((d) => {
      d.chatMoves.push({ from: '-4001', to: '-1004001', at: 1, via: 'send', told: true });
    });
    await store.close();
    const moved = check(await doctor(env), 'telegram chat moved');
    expect(moved).to.include({ ok: true, warning: true });
    expect(moved.detail).to.include('TELEGRAM_CHAT_ID=-1004001');
    expect(moved.detail).to.include('TELEGRAM_ALLOWED_CHAT_IDS: -1004001 in place of -4001');
    // .env names the new id: nothing left to say
    const fixed = await doctor({
      ...env,
      TELEGRAM_CHAT_ID: '-1004001',
      TELEGRAM_ALLOWED_CHAT_IDS: '-1004001',
    });
    expect(fixed.checks.find((c) => c.name === 'telegram chat moved')).to.equal(undefined);
  });

  it('says nothing of the moves in an outbox file the service would quarantine (review 32g: the full schema check)', async () => {
    const env = { TELEGRAM_BOT_TOKEN: GOOD_TOKEN, TELEGRAM_CHAT_ID: '-4001' };
    fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o700 });
    const write = (data: unknown): void =>
      fs.writeFileSync(
        path.join(root, 'data', `${OUTBOX_STORE_NAME}.json`),
        JSON.stringify({ version: OUTBOX_STORE_VERSION, savedAt: new Date().toISOString(), data }),
      );
    const moves = [{ from: '-4001', to: '-1004001', at: 1, via: 'send', told: true }];
    write({ ...emptyOutboxState(), chatMoves: moves });
    expect(check(await doctor(env), 'telegram chat moved').detail).to.include('TELEGRAM_CHAT_ID=-1004001');
    // the same moves in a file whose queue is not the outbox's (the service sets it aside and starts empty)
    write({ ...emptyOutboxState(), entries: [{ id: 'x' }], chatMoves: moves });
    expect((await doctor(env)).checks.find((c) => c.name === 'telegram chat moved')).to.equal(undefined);
  });

  it("says trading's new state paused because the exchange has another install's orders (its state missing or hidden)", async () => {
    expect((await doctor()).checks.find((c) => c.name === 'trading state')).to.equal(undefined);
    fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o700 });
    const write = (pause: unknown): void =>
      fs.writeFileSync(
        path.join(root, 'data', 'trading-state.json'),
        JSON.stringify({
          version: STATE_VERSION,
          savedAt: new Date().toISOString(),
          data: { ...defaultTradingState(), pause },
        }),
      );
    const reason = hiddenStateReason({ installIds: ['old111'], orders: 2, open: 0 }, 'new222', '/mnt/data');
    // joined behind another cause (a refused key) too
    write({ reason: 'invalid API key', by: 'operational', at: 1, joined: [hiddenStateCause(reason, 2)] });
    const said = check(await doctor(), 'trading state');
    expect(said).to.include({ ok: false });
    expect(said.detail).to.include('BYNINJA_DATA_DIR is /mnt/data');
    expect(said.fix).to.include('`npx byninja restart trading`');
    // another pause, or none: nothing to say
    write({ reason: 'invalid API key', by: 'operational', at: 1 });
    expect((await doctor()).checks.find((c) => c.name === 'trading state')).to.equal(undefined);
  });

  it("says the API key's end as trading last read it: past it fails, within 14 days warns; another key's is not this one's", async () => {
    const DAY = 86_400_000;
    const env = {
      BYNINJA_MODE: 'live',
      BYNINJA__TRADING__EXCHANGE: 'bybit',
      EXCHANGE_API_KEY: 'key-0123456789',
      EXCHANGE_SECRET: 'secret-0123456789',
    };
    const keep = async (key: string, expiresAt: number): Promise<void> => {
      fs.mkdirSync(path.join(root, 'data'), { recursive: true, mode: 0o700 });
      await new KeyNoticeFile(path.join(root, 'data'), 'bybit', systemClock, silentLogger()).save({
        ...freshNotices(apiKeyFingerprint(key)),
        expiresAt,
        expiryField: 'Bybit expiredAt',
      });
    };
    // judged at the doctor's clock (the CLI's), not the host's
    const clock = new FakeClock();
    expect((await doctor(env, built, clock)).checks.find((c) => c.name === 'api key')).to.equal(undefined);
    await keep('key-0123456789', clock.now() + 3 * DAY + 60_000);
    const soon = check(await doctor(env, built, clock), 'api key');
    expect(soon).to.include({ ok: true, warning: true });
    expect(soon.detail).to.match(/Bybit expiredAt\), in 3 d\b/);
    clock.time += 3 * DAY + 60_001;
    const past = check(await doctor(env, built, clock), 'api key');
    expect(past.ok).to.equal(false);
    expect(past.fix).to.match(/new key bound to this host's IP address/);
    await keep('another-key-0000', clock.now() - 1);
    expect((await doctor(env, built, clock)).checks.find((c) => c.name === 'api key')).to.equal(undefined);
  });

  it('never says two things of one setting: an invalid chat id is reported once, not also as where alerts go', async () => {
    const r = await doctor({ TELEGRAM_BOT_TOKEN: GOOD_TOKEN, TELEGRAM_CHAT_ID: 'my-chat' });
    expect(check(r, 'configuration (telegram)').ok).to.equal(false);
    expect(check(r, 'configuration (telegram)').detail).to.include('telegram.chatId');
    expect(
      r.checks.filter((c) => c.name.startsWith('telegram') && c.detail.includes('my-chat')),
    ).to.deep.equal([]);
  });

  it('reports a missing build, an old Node, and an unwritable data dir with their fixes', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, '');
    const r = await doctor({ BYNINJA_DATA_DIR: path.join(file, 'data') }, path.join(root, 'empty'));
    expect(check(r, 'build')).to.include({
      ok: false,
      fix: 'run npm run build (npm start also builds first)',
    });
    expect(check(r, 'data dir').ok).to.equal(false);
    expect(check(r, 'data dir').fix).to.match(/BYNINJA_DATA_DIR/);
    const old = await runDoctor(
      { BYNINJA_ENV_FILE: path.join(root, '.env') },
      { root: built, cwd: root, nodeVersion: '20.18.3', clock: systemClock },
    );
    expect(check(old, 'node')).to.include({ ok: false });
    expect(formatDoctorReport(r))
      .to.match(/❌ build: missing/)
      .and.match(/problems? found/);
  });

  it('fails on a group/world-readable .env or data dir and prints the chmod that fixes it', async () => {
    const envFile = path.join(root, '.env');
    fs.writeFileSync(envFile, 'EXCHANGE_SECRET=s3cr3t-value\n');
    fs.chmodSync(envFile, 0o644);
    fs.mkdirSync(path.join(root, 'data'), { mode: 0o755 });
    fs.chmodSync(path.join(root, 'data'), 0o755);
    const result = await doctor();
    expect(result.ok).to.equal(false);
    const byName = (n: string) => result.checks.find((c) => c.name === n)!;
    expect(byName('.env permissions')).to.include({ ok: false, fix: `chmod 600 ${envFile}` });
    expect(byName('data dir permissions')).to.include({
      ok: false,
      fix: `chmod 700 ${path.join(root, 'data')}`,
    });
    expect(formatDoctorReport(result))
      .to.include(`fix: chmod 600 ${envFile}`)
      .and.not.include('s3cr3t-value');

    fs.chmodSync(envFile, 0o600);
    fs.chmodSync(path.join(root, 'data'), 0o700);
    const fixed = await doctor();
    expect(byNameOf(fixed, '.env permissions').ok).to.equal(true);
    expect(byNameOf(fixed, 'data dir permissions').ok).to.equal(true);
  });

  it('a port held by another program is named as such, with its pid — even while trading runs', async () => {
    const port = await freePort();
    const other = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('up'))`,
    ]);
    try {
      await new Promise((r) => other.stdout.once('data', r));
      // a live trading (this test process) holds the data dir, but not that port
      fs.mkdirSync(path.join(root, 'data'), { recursive: true });
      fs.writeFileSync(path.join(root, 'data', 'trading.service.lock'), JSON.stringify({ pid: process.pid }));
      const r = await doctor({ BYNINJA_IPC_PORT: String(port) });
      expect(check(r, 'ipc port').ok).to.equal(false);
      expect(check(r, 'ipc port').detail).to.include(
        `held by another program, not trading: pid ${other.pid}`,
      );
      const http = await doctor({ BYNINJA__HTTP__TELEGRAM_PORT: String(port) });
      expect(check(http, 'http port (telegram)').ok).to.equal(false);
      expect(check(http, 'http port (telegram)').fix).to.include('http.telegramPort');
    } finally {
      other.kill();
    }
  });

  it('a port held by a live trading (its service lock names a live pid) is fine', async () => {
    const s = net.createServer();
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as net.AddressInfo).port;
    fs.mkdirSync(path.join(root, 'data'), { recursive: true });
    fs.writeFileSync(path.join(root, 'data', 'trading.service.lock'), JSON.stringify({ pid: process.pid }));
    const r = await doctor({ BYNINJA_IPC_PORT: String(port) });
    expect(check(r, 'ipc port')).to.include({ ok: true });
    expect(check(r, 'ipc port').detail).to.match(/in use by trading \(pid \d+\)/);
  });

  it('finds a running PM2 daemon in PM2_HOME @slow', async () => {
    const pm2 = Pm2Harness.create('bn-doc-');
    try {
      await pm2.pm2(['ping']);
      const r = await doctor({ PM2_HOME: pm2.home });
      expect(check(r, 'pm2')).to.include({ ok: true });
      expect(check(r, 'pm2').warning).to.equal(undefined);
    } finally {
      await pm2.stop();
    }
  });

  it('runs on its own: exits 1 with the report when something is wrong', () => {
    const result = spawnSync(process.execPath, [path.join(__dirname, '../../src/ops/doctor.js')], {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        BYNINJA_ENV_FILE: path.join(root, '.env'),
        BYNINJA_MODE: 'broken',
        PM2_HOME: path.join(root, 'no-pm2'),
      },
    });
    expect(result.status).to.equal(1);
    expect(result.stdout).to.match(
      /❌ configuration \(trading\): 1 problem: trading will not start \(exit 78\)\n {2}- trading.mode \(env BYNINJA_MODE\)/,
    );
  });
});

function byNameOf(result: DoctorResult, name: string): DoctorResult['checks'][number] {
  return result.checks.find((c) => c.name === name)!;
}
