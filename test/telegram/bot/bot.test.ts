/**
 * The bot end to end: real telegraf polling the telegram-test-api emulator, a real PM2 daemon in a temp PM2_HOME
 * running small fixture apps named like ours, and trading's control API served by the real IpcServer (stub state).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { Pm2Client } from '../../../src/ops/pm2-client';
import { systemClock, type Clock } from '../../../src/shared/clock';
import { configSchema, type Config } from '../../../src/shared/config/schema';
import { IpcClient } from '../../../src/shared/ipc/client';
import { silentLogger, type Logger } from '../../../src/shared/logging/logger';
import { createBot, type Bot } from '../../../src/telegram/bot/bot';
import { ChartProcess } from '../../../src/telegram/charts/chart-process';
import type { DeliveryOutcome } from '../../../src/telegram/notify/delivery-health';
import { TELEGRAM_MAX_MESSAGE } from '../../../src/telegram/bot/format';
import {
  requestSelfRestartMarker,
  takeSelfRestartMarker,
} from '../../../src/telegram/supervisor/self-restart-marker';
import { eventually, Pm2Harness } from '../../../harness/pm2';
import { TelegramEmulator, type SentMessage } from '../../../harness/telegram-emulator';
import { TradingStub } from '../../support/trading-stub';
import { CHART_HEIGHT, CHART_WIDTH } from '../../../src/ops/equity-chart';
import { pngSize } from '../../support/png';

const ALLOWED = '111';
const STRANGER = '999';
/** A group listed in TELEGRAM_ALLOWED_CHAT_IDS; MEMBER is in it but not listed by user id. */
const GROUP = '-1001234';
const MEMBER = '222';

const FIXTURE_APP = `'use strict';
process.on('SIGINT', () => process.exit(0));
setInterval(() => {}, 1000);
if (process.send) process.send('ready');
`;

function testConfig(allowed: string[]): Config {
  return configSchema().parse({
    telegram: {
      allowedChatIds: allowed,
      staleCommandMaxAgeSec: 60,
      confirmTimeoutSec: 30,
      pollingTimeoutSec: 1,
    },
  });
}

/** A clock whose now() can jump ahead (expiring confirmations) while sleeps and timers stay real. */
function skewableClock(): Clock & { skewMs: number } {
  const clock = {
    skewMs: 0,
    timer: systemClock.timer,
    now: () => Date.now() + clock.skewMs,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => (clearTimeout(t), reject(new Error('aborted'))), {
          once: true,
        });
      }),
  };
  return clock;
}

function callbackData(msg: SentMessage, index: number): string {
  const markup = msg.replyMarkup as { inline_keyboard: Array<Array<{ callback_data: string }>> };
  return markup.inline_keyboard[0]![index]!.callback_data;
}

describe('telegram bot (telegraf ↔ emulator, real PM2) @slow', function () {
  this.timeout(60_000);
  let emu: TelegramEmulator;
  let pm2h: Pm2Harness;
  let pm2: Pm2Client;
  let stub: TradingStub;
  let trading: IpcClient;
  let bot: Bot;
  let initialPositions: TradingStub['state']['positions'];
  const clock = skewableClock();
  const health: DeliveryOutcome[] = [];

  before(async () => {
    emu = await TelegramEmulator.start();
    pm2h = Pm2Harness.create('bn-bot-');
    const script = path.join(pm2h.root, 'fixture-app.js');
    fs.writeFileSync(script, FIXTURE_APP);
    await pm2h.startScript('trading', script);
    await pm2h.startScript('telegram', script);
    pm2 = new Pm2Client({ pm2Home: pm2h.home, clock: systemClock });
    stub = await TradingStub.start(pm2h.dataDir);
    initialPositions = stub.state.positions;
    trading = new IpcClient({
      host: '127.0.0.1',
      port: stub.port,
      token: stub.token,
      client: 'telegram',
      requestTimeoutMs: 2000,
      heartbeatMs: 500,
      logger: silentLogger(),
      clock: systemClock,
    });
    await trading.connect();
    bot = createBot({
      token: emu.token,
      apiRoot: emu.apiRoot,
      config: testConfig([ALLOWED, GROUP]),
      logger: silentLogger(),
      pm2,
      tradingClient: trading,
      dataDir: pm2h.dataDir,
      charts: new ChartProcess({ clock: systemClock }),
      logDir: pm2h.logDir,
      notifier: { notify: async () => undefined, depth: () => 3 },
      linkState: () => ({ up: trading.connected }),
      beforeSelfRestart: (req) => requestSelfRestartMarker(pm2h.dataDir, req),
      onHealth: (o) => health.push(o),
      clock,
    });
    await bot.start();
    await eventually(() => emu.myCommands.length > 0, 10_000, 'setMyCommands');
  });

  after(async () => {
    await bot?.stop();
    await trading?.close();
    await stub?.close();
    await pm2?.disconnect();
    await emu?.stop();
    await pm2h?.stop();
  });

  const lastMessageId = (): number => Math.max(0, ...emu.sentMessages().map((m) => m.messageId));

  /** Sends a command and returns the first new message in the chat. */
  async function ask(
    text: string,
    match: (m: SentMessage) => boolean = () => true,
    chat = ALLOWED,
  ): Promise<SentMessage> {
    const lastId = lastMessageId();
    await emu.sendCommand(chat, text);
    return emu.waitForMessage((m) => m.messageId > lastId && match(m), { chatId: chat });
  }

  /** Presses button `index` under `question` and returns the first later message in the chat that includes `text`. */
  async function press(question: SentMessage, index: number, text: string): Promise<SentMessage> {
    await emu.sendCallback(ALLOWED, callbackData(question, index), undefined, question.messageId);
    return emu.waitForMessage((m) => m.messageId > question.messageId && m.text.includes(text), {
      chatId: ALLOWED,
    });
  }

  it('registers the command menu with setMyCommands at start', () => {
    const names = (emu.myCommands as Array<{ command: string }>).map((c) => c.command);
    expect(names).to.include.members([
      'help',
      'status',
      'restart',
      'positions',
      'orders',
      'balance',
      'pnl',
      'pause',
      'resume',
      'closeall',
      'settle',
      'logs',
      'version',
    ]);
  });

  it("/status answers an allowed chat with PM2's view and trading's own view", async () => {
    const msg = await ask('/status');
    expect(msg.parseMode).to.equal('HTML');
    expect(msg.text).to.match(/trading<\/b> — online, up [\d.]+ m?s, restarts 0/);
    expect(msg.text).to.match(/telegram<\/b> — online/);
    expect(msg.text).to.include('Trading</b> (paper, simulated market, stubbot v0.1.0)');
    expect(msg.text).to.include('equity 10,250.50 USDT');
    expect(msg.text).to.include('TCP link: up');
    expect(msg.text).to.include('Outbox: 3 waiting');
  });

  it('a stranger gets nothing and restarts nothing', async () => {
    const before = (await pm2.describe('trading'))!.restarts;
    await emu.sendCommand(STRANGER, '/restart trading');
    await emu.sendCommand(STRANGER, '/status');
    await emu.sendCallback(STRANGER, 'ok:guessed-nonce');
    // The allowed chat's answer proves the bot polled past the stranger's updates.
    await ask('/help');
    await new Promise((r) => setTimeout(r, 300));
    expect(emu.sentMessages(STRANGER)).to.deep.equal([]);
    expect((await pm2.describe('trading'))!.restarts).to.equal(before);
    expect(stub.state.calls.filter((c) => c === 'closeAll')).to.have.length(0);
  });

  it('/restart trading asks for confirmation, and the button restarts it in PM2', async () => {
    const before = await pm2.describe('trading');
    const question = await ask('/restart trading');
    expect(question.text).to.include('Restart <b>trading</b>?');
    expect((await pm2.describe('trading'))!.restarts).to.equal(before!.restarts); // nothing yet
    await emu.sendCallback(ALLOWED, callbackData(question, 0), undefined, question.messageId);
    const done = await emu.waitForMessage((m) => m.text.includes('trading</b> restarted'), {
      chatId: ALLOWED,
      timeoutMs: 30_000,
    });
    expect(done.text).to.include(`restarts ${before!.restarts} → ${before!.restarts + 1}, online`);
    const after = await pm2.describe('trading');
    expect(after!.restarts).to.equal(before!.restarts + 1);
    expect(after!.pid).not.to.equal(before!.pid);
  });

  it('a second press of the same button does nothing', async () => {
    const question = await ask('/restart trading');
    const data = callbackData(question, 0);
    await emu.sendCallback(ALLOWED, data, undefined, question.messageId);
    await emu.waitForMessage(
      (m) => m.text.includes('trading</b> restarted') && m.messageId > question.messageId,
      { chatId: ALLOWED, timeoutMs: 30_000 },
    );
    const restarts = (await pm2.describe('trading'))!.restarts;
    await emu.sendCallback(ALLOWED, data, undefined, question.messageId);
    await emu.waitForMessage((m) => m.text.includes('expired') && m.messageId > question.messageId, {
      chatId: ALLOWED,
    });
    expect((await pm2.describe('trading'))!.restarts).to.equal(restarts);
  });

  it('an expired confirmation does nothing', async () => {
    const before = (await pm2.describe('trading'))!.restarts;
    const question = await ask('/restart trading');
    clock.skewMs = 31_000; // past telegram.confirmTimeoutSec
    try {
      await emu.sendCallback(ALLOWED, callbackData(question, 0), undefined, question.messageId);
      const reply = await emu.waitForMessage(
        (m) => m.messageId > question.messageId && m.text.includes('expired'),
        { chatId: ALLOWED },
      );
      expect(reply.text).to.include('nothing was done');
    } finally {
      clock.skewMs = 0;
    }
    await new Promise((r) => setTimeout(r, 300));
    expect((await pm2.describe('trading'))!.restarts).to.equal(before);
  });

  it('Cancel does nothing', async () => {
    const before = stub.state.calls.length;
    const question = await ask('/closeall');
    await press(question, 1, 'Cancelled');
    expect(stub.state.calls.slice(before)).not.to.include('closeAll');
  });

  it('/closeall confirmed closes through trading', async () => {
    const question = await ask('/closeall');
    const done = await press(question, 0, 'Close-all sent');
    expect(done.text).to.include('stubbot-close-0');
    expect(done.text).to.include(
      'Entries paused so the strategy does not reopen them; /resume to trade again.',
    );
    expect(stub.state.calls).to.include('closeAll');
  });

  it('/settle lists the orders in question with the commands that settle them', async () => {
    const msg = await ask('/settle');
    expect(msg.text).to.include('Orders in question (1)');
    expect(msg.text).to.include('<code>stubbot-9</code> BTC/USDT sell 0.002 (stop-loss), 0 filled');
    expect(msg.text).to.include('the balance moved as if it was carried out');
    expect(msg.text).to.include(
      '<code>/settle stubbot-9 none</code> or <code>/settle stubbot-9 filled &lt;amount&gt; &lt;average price&gt;</code>',
    );
  });

  it('/settle with bad arguments says what is wrong and asks nothing', async () => {
    const before = stub.state.calls.length;
    const msg = await ask('/settle stubbot-9 filled 0,002 50000');
    expect(msg.text).to.include('the amount "0,002" is not a decimal number');
    expect(msg.replyMarkup).to.equal(undefined);
    expect(stub.state.calls.slice(before)).to.deep.equal([]);
  });

  it('/settle <id> filled <amount> <price> asks first; confirmed, trading books it', async () => {
    const question = await ask('/settle stubbot-9 filled 0.002 47500.5');
    expect(question.text).to.include('<b>carried out</b>: 0.002 executed at an average 47500.5');
    expect(stub.state.settled).to.deep.equal([]);
    const done = await press(question, 0, 'settled');
    expect(done.text).to.include('0.002 executed at an average 47500.5 (filled)');
    expect(stub.state.settled).to.deep.equal([
      { clientOrderId: 'stubbot-9', outcome: 'carried-out', executed: 0.002, averagePrice: 47_500.5 },
    ]);
    // trading's refusal (no longer in question) is shown as such
    const again = await ask('/settle stubbot-9 none');
    const refused = await press(again, 0, 'Trading refused');
    expect(refused.text).to.include('no order stubbot-9');
  });

  it('in an allowed group, a member not listed by user id may read but not run /closeall', async () => {
    const lastId = lastMessageId();
    await emu.sendCommand(GROUP, '/version', MEMBER);
    await emu.waitForMessage((m) => m.messageId > lastId && m.text.includes('ByNinja'), { chatId: GROUP });
    const before = stub.state.calls.length;
    const refusedAt = lastMessageId();
    await emu.sendCommand(GROUP, '/closeall', MEMBER);
    const refused = await emu.waitForMessage((m) => m.messageId > refusedAt, { chatId: GROUP });
    expect(refused.text).to.include('needs your own user id').and.include(MEMBER);
    expect(refused.replyMarkup).to.equal(undefined);
    expect(stub.state.calls.slice(before)).not.to.include('closeAll');
  });

  it("a group member pressing another user's /closeall Confirm is refused; the asker's own press still works", async () => {
    const askedAt = lastMessageId();
    await emu.sendCommand(GROUP, '/closeall', ALLOWED);
    const question = await emu.waitForMessage((m) => m.messageId > askedAt && m.replyMarkup !== undefined, {
      chatId: GROUP,
    });
    const before = stub.state.calls.length;
    const answers = (): number => emu.requests.filter((r) => r.method === 'answerCallbackQuery').length;
    const answered = answers();
    await emu.sendCallback(GROUP, callbackData(question, 0), MEMBER, question.messageId);
    await eventually(() => answers() > answered, 5_000, 'the refusal toast');
    await new Promise((r) => setTimeout(r, 300));
    expect(stub.state.calls.slice(before)).not.to.include('closeAll');
    expect(emu.sentMessages(GROUP).some((m) => m.messageId > question.messageId)).to.equal(false);

    await emu.sendCallback(GROUP, callbackData(question, 0), ALLOWED, question.messageId);
    // (an earlier test closed the stub's positions: what matters is that closeAll ran now)
    await emu.waitForMessage((m) => m.messageId > question.messageId && m.text.includes('Entries paused'), {
      chatId: GROUP,
    });
    expect(stub.state.calls.slice(before)).to.include('closeAll');
  });

  it('/restart telegram records the self-restart request before PM2 restarts it', async () => {
    const before = (await pm2.describe('telegram'))!.restarts;
    const question = await ask('/restart telegram');
    await emu.sendCallback(ALLOWED, callbackData(question, 0), undefined, question.messageId);
    await emu.waitForMessage(
      (m) => m.messageId > question.messageId && m.text.includes('I will confirm here when I am back'),
      { chatId: ALLOWED },
    );
    await eventually(
      async () => {
        const p = await pm2.describe('telegram');
        return p?.restarts === before + 1 && p.status === 'online';
      },
      20_000,
      'telegram restarted',
    );
    const marker = await takeSelfRestartMarker(pm2h.dataDir);
    expect(marker?.chatId).to.equal(ALLOWED);
  });

  it('a command older than staleCommandMaxAgeSec is not executed; a short note says so', async () => {
    const before = (await pm2.describe('trading'))!.restarts;
    const lastId = lastMessageId();
    stub.state.status = { ...stub.state.status, paused: false }; // an earlier /closeall paused it
    await emu.sendCommand(ALLOWED, '/pause', undefined, { dateSec: Math.floor(Date.now() / 1000) - 600 });
    const note = await emu.waitForMessage((m) => m.messageId > lastId, { chatId: ALLOWED });
    expect(note.text).to.include('Not executed: /pause was sent 10 min');
    expect(stub.state.calls).not.to.include('pause');
    expect(stub.state.status.paused).to.equal(false);
    expect((await pm2.describe('trading'))!.restarts).to.equal(before);
  });

  it('/start (sent when a chat opens the bot) answers like /help; an unknown command says so', async () => {
    expect((await ask('/start')).text).to.include('ByNinja commands');
    expect((await ask('/frobnicate')).text).to.include('Unknown command /frobnicate');
  });

  it('bad or missing arguments get the usage text', async () => {
    expect((await ask('/restart everything')).text).to.include(
      'Usage: <code>/restart &lt;trading|telegram|all&gt;</code>',
    );
    expect((await ask('/restart')).text).to.include('Usage: <code>/restart');
    expect((await ask('/logs')).text).to.include('Usage: <code>/logs');
    expect((await ask('/logs trading 5000')).text).to.include('Usage: <code>/logs');
    expect((await ask('/orders open')).text).to.include('Usage: <code>/orders [all]</code>');
  });

  it('trading commands answer from the TCP API (positions, orders, balance, pnl, pause, resume)', async () => {
    stub.state.positions = initialPositions;
    expect((await ask('/positions')).text).to.include(
      'BTC/USDT</b> 0.01 @ 60000 (cost per unit, fees included) → 61000',
    );
    expect((await ask('/orders all')).text).to.include(
      '<code>stubbot-7</code> buy 0.5 ETH/USDT limit @ 3000',
    );
    expect(stub.state.calls).to.include('orders:all');
    expect((await ask('/balance')).text).to.include('equity 10,250.50 USDT');
    const photos = emu.photos.length;
    const pnl = await ask('/pnl');
    expect(pnl.text).to.include('📐 PnL (USDT, realized; fees included)');
    expect(pnl.text).to.match(/all +\+\d/);
    expect(stub.state.calls).to.include('report');
    // the equity curve arrives as a photo: a valid PNG of the chart's size
    const photo = await eventually(() => emu.photos[photos], 15_000, 'the /pnl photo');
    expect(photo.chatId).to.equal(ALLOWED);
    expect(photo.caption).to.include('Equity (USDT)');
    expect(pngSize(photo.bytes)).to.deep.equal({ width: CHART_WIDTH, height: CHART_HEIGHT });
    expect((await ask('/pause <b>maintenance</b>')).text).to.include(
      'paused: &lt;b&gt;maintenance&lt;/b&gt;',
    );
    expect(stub.state.status.paused).to.equal(true);
    // /resume asks first, naming the pause it lifts (resume-confirm.test.ts)
    const question = await ask('/resume');
    expect(question.text).to.include('Paused: <b>&lt;b&gt;maintenance&lt;/b&gt;</b>');
    expect((await press(question, 0, 'Trading resumed')).text).to.include('was paused');
    expect(stub.state.status.paused).to.equal(false);
  });

  it('long /logs output is split under 4096 characters, with secrets redacted', async () => {
    const outLog = (await pm2.describe('trading'))!.outLogPath!;
    const lines = Array.from({ length: 100 }, (_, i) => `${i} <tag> & ${'L'.repeat(90)} token=${emu.token}`);
    fs.appendFileSync(outLog, lines.join('\n') + '\n');
    const before = emu.sentMessages(ALLOWED).length;
    await emu.sendCommand(ALLOWED, '/logs trading 100');
    await eventually(
      () =>
        emu
          .sentMessages(ALLOWED)
          .slice(before)
          .some((m) => m.text.includes('99 &lt;tag&gt;')),
      15_000,
      'last log line',
    );
    const parts = emu.sentMessages(ALLOWED).slice(before);
    expect(parts.length).to.be.greaterThan(2);
    for (const p of parts) {
      expect(p.text.length).to.be.at.most(TELEGRAM_MAX_MESSAGE);
      expect(p.text).not.to.include(emu.token);
      expect((p.text.match(/<pre>/g) ?? []).length).to.equal((p.text.match(/<\/pre>/g) ?? []).length);
    }
    expect(parts.map((p) => p.text).join('\n')).to.include('[REDACTED]');
  });

  it('/status still shows PM2 and says trading is unreachable when trading is down', async () => {
    await stub.close();
    await eventually(() => !trading.connected, 10_000, 'link down');
    const msg = await ask('/status');
    expect(msg.text).to.include('Trading unreachable');
    expect(msg.text).to.match(/trading<\/b> — online/);
    expect(msg.text).to.include('TCP link: DOWN');
    expect((await ask('/positions')).text).to.include('Trading unreachable');
    expect(health.filter((o) => o.kind !== 'token-ok')).to.deep.equal([]);
  });
});

describe('telegram bot policies (emulator) @slow', function () {
  this.timeout(30_000);
  const fakeTrading = { connected: false, call: async () => Promise.reject(new Error('down')) };
  const fakePm2 = { list: async () => [], restart: async () => undefined };

  function deps(
    token: string,
    apiRoot: string,
    allowed: string[],
    extra: { onHealth?: (o: DeliveryOutcome) => void; logger?: Logger } = {},
  ) {
    return {
      token,
      apiRoot,
      config: testConfig(allowed),
      logger: extra.logger ?? silentLogger(),
      pm2: fakePm2,
      tradingClient: fakeTrading,
      dataDir: '/nonexistent',
      charts: new ChartProcess({ clock: systemClock }),
      logDir: '/nonexistent',
      clock: systemClock,
      poller: {
        backoffBaseMs: 50,
        backoffMaxMs: 200,
        conflictBaseMs: 50,
        conflictMaxMs: 200,
        unauthorizedBaseMs: 50,
        unauthorizedMaxMs: 200,
      },
      ...(extra.onHealth ? { onHealth: extra.onHealth } : {}),
    };
  }

  it('with no allow-list no command is accepted (deny by default)', async () => {
    const emu = await TelegramEmulator.start();
    const bot = createBot(deps(emu.token, emu.apiRoot, []));
    try {
      await bot.start();
      await emu.sendCommand(ALLOWED, '/status');
      await emu.sendCommand(ALLOWED, '/restart all');
      await eventually(
        () => emu.server.storage.userMessages.every((u) => u.isRead),
        10_000,
        'updates polled',
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(emu.sentMessages()).to.deep.equal([]);
    } finally {
      await bot.stop();
      await emu.stop();
    }
  });

  it('refuses a second poller for the same token in one process (exactly one getUpdates consumer)', async () => {
    const emu = await TelegramEmulator.start();
    const first = createBot(deps(emu.token, emu.apiRoot, [ALLOWED]));
    const second = createBot(deps(emu.token, emu.apiRoot, [ALLOWED]));
    try {
      await first.start();
      await first.start(); // a second start of the same bot is a no-op
      const err = await second.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Error).message).to.include('already polling');
      await emu.sendCommand(ALLOWED, '/help');
      await emu.waitForMessage((m) => m.text.includes('ByNinja commands'), { chatId: ALLOWED });
      expect(emu.sentMessages(ALLOWED)).to.have.length(1); // answered once
    } finally {
      await second.stop();
      await first.stop();
      await emu.stop();
    }
  });

  it('honours 429 retry_after on getUpdates and keeps polling', async () => {
    const emu = await TelegramEmulator.start();
    const bot = createBot(deps(emu.token, emu.apiRoot, [ALLOWED]));
    try {
      await bot.start();
      await eventually(() => emu.requests.some((r) => r.method === 'getUpdates'), 10_000, 'first poll');
      emu.setFault('429', { retryAfterSec: 1, count: 1, methods: ['getUpdates'] });
      await eventually(
        () => emu.requests.some((r) => r.method === 'getUpdates' && r.status === 429),
        10_000,
        'a 429',
      );
      const limited = emu.requests.find((r) => r.method === 'getUpdates' && r.status === 429)!;
      await emu.sendCommand(ALLOWED, '/help');
      await emu.waitForMessage((m) => m.text.includes('ByNinja commands'), { chatId: ALLOWED });
      const next = emu.requests.find((r) => r.method === 'getUpdates' && r.at > limited.at)!;
      expect(next.at - limited.at).to.be.at.least(950); // waited retry_after (1 s), not the 50 ms backoff
    } finally {
      await bot.stop();
      await emu.stop();
    }
  });

  it('recovers from Bot API 5xx and an outage with backoff', async () => {
    const emu = await TelegramEmulator.start();
    const bot = createBot(deps(emu.token, emu.apiRoot, [ALLOWED]));
    try {
      await bot.start();
      await eventually(() => emu.requests.some((r) => r.method === 'getUpdates'), 10_000, 'first poll');
      emu.setFault('5xx', { count: 3, methods: ['getUpdates'] });
      await eventually(() => emu.requests.filter((r) => r.status === 502).length === 3, 10_000, 'three 502');
      emu.setFault('down', { count: 2 });
      await emu.sendCommand(ALLOWED, '/help');
      await emu.waitForMessage((m) => m.text.includes('ByNinja commands'), {
        chatId: ALLOWED,
        timeoutMs: 15_000,
      });
    } finally {
      await bot.stop();
      await emu.stop();
    }
  });

  /** A Bot API that answers every request with one status (401, 409…), counting getUpdates calls. */
  async function fixedStatusApi(
    status: number,
    description: string,
    thenOk = Infinity,
  ): Promise<{ root: string; polls: () => number; close(): Promise<void> }> {
    let polls = 0;
    const sockets = new Set<net.Socket>();
    const server = http.createServer((req, res) => {
      req.resume();
      const method = /\/([A-Za-z]+)$/.exec(req.url ?? '')?.[1];
      if (method === 'getUpdates') polls += 1;
      const ok =
        method === 'getMe'
          ? { ok: true, result: { id: 1, is_bot: true, first_name: 'b', username: 'b_bot' } }
          : { ok: true, result: method === 'getUpdates' ? [] : true };
      const fail = method === 'getUpdates' && polls <= thenOk;
      const body = JSON.stringify(
        fail || status === 401 ? { ok: false, error_code: status, description } : ok,
      );
      res.writeHead(fail || status === 401 ? status : 200, { 'content-type': 'application/json' });
      res.end(body);
    });
    server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as net.AddressInfo;
    return {
      root: `http://127.0.0.1:${port}`,
      polls: () => polls,
      close: () => {
        for (const s of sockets) s.destroy();
        return new Promise((r) => server.close(() => r()));
      },
    };
  }

  it('401 (bad token) → never fatal: reported, logged without the token, getMe retried with backoff', async () => {
    const api = await fixedStatusApi(401, 'Unauthorized');
    const token = '7654321:AAbadbadbadbadbadbadbadbadbadbadbad';
    const lines: string[] = [];
    const logger = {
      child: () => logger,
      info: () => undefined,
      warn: (m: string) => lines.push(m),
      error: (m: string, meta?: unknown) => lines.push(m + JSON.stringify(meta ?? {})),
    } as unknown as Logger;
    const outcomes: DeliveryOutcome[] = [];
    const bot = createBot(deps(token, api.root, [ALLOWED], { onHealth: (o) => outcomes.push(o), logger }));
    try {
      await bot.start();
      await eventually(
        () => outcomes.filter((o) => o.kind === 'unauthorized').length >= 3,
        10_000,
        'getMe retried after 401s',
      );
      expect(lines.join('\n')).to.include('TELEGRAM_BOT_TOKEN');
      expect(lines.join('\n') + JSON.stringify(outcomes)).not.to.include(token.split(':')[1]!);
    } finally {
      await bot.stop();
      await api.close();
    }
  });

  it('409 (another poller) → logged, backs off and keeps polling; never fatal', async () => {
    const api = await fixedStatusApi(409, 'Conflict: terminated by other getUpdates request', 3);
    const errors: string[] = [];
    const logger = {
      child: () => logger,
      info: () => undefined,
      warn: () => undefined,
      error: (m: string) => errors.push(m),
    } as unknown as Logger;
    const outcomes: DeliveryOutcome[] = [];
    const bot = createBot(
      deps('1234567:AAgoodgoodgoodgoodgoodgoodgoodgood', api.root, [ALLOWED], {
        onHealth: (o) => outcomes.push(o),
        logger,
      }),
    );
    try {
      await bot.start();
      await eventually(() => api.polls() > 5, 10_000, 'polling continues after the conflicts');
      expect(errors.some((e) => e.includes('409 Conflict'))).to.equal(true);
      // reported while it lasts, cleared by the first poll that went through
      expect(outcomes.some((o) => o.kind === 'conflict')).to.equal(true);
      expect(outcomes.at(-1)).to.deep.equal({ kind: 'token-ok', polled: true });
    } finally {
      await bot.stop();
      await api.close();
    }
  });
});
