import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { NetworkError, OperationalError, RateLimitError, TemporaryError } from '../../../src/shared/errors';
import { TelegramSender } from '../../../src/telegram/bot/telegram-sender';
import { TelegramEmulator } from '../../../harness/telegram-emulator';

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('TelegramSender (MessageSender over telegraf, emulator)', function () {
  this.timeout(20_000);
  let emu: TelegramEmulator;
  let sender: TelegramSender;

  before(async () => {
    emu = await TelegramEmulator.start();
    sender = new TelegramSender({ token: emu.token, apiRoot: emu.apiRoot });
  });
  after(async () => emu?.stop());

  it('sends HTML, silent messages without notification', async () => {
    await sender.send('5', '<b>crash</b> trading', { silent: false });
    await sender.send('5', 'filled', { silent: true });
    const [loud, quiet] = emu.sentMessages('5');
    expect(loud).to.include({ text: '<b>crash</b> trading', parseMode: 'HTML', silent: false });
    expect(quiet).to.include({ text: 'filled', silent: true });
  });

  it('429 → RateLimitError with retryAfterMs; 5xx → TemporaryError; outage → NetworkError', async () => {
    emu.setFault('429', { retryAfterSec: 3, count: 1 });
    const limited = await failure(sender.send('5', 'x', {}));
    expect(limited).to.be.instanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterMs).to.equal(3000);
    emu.setFault('5xx', { count: 1 });
    expect(await failure(sender.send('5', 'x', {}))).to.be.instanceOf(TemporaryError);
    emu.setFault('down', { count: 1 });
    const down = await failure(sender.send('5', 'x', {}));
    expect(down).to.be.instanceOf(NetworkError);
    expect((down as Error).message).not.to.include(emu.token);
  });

  it('a refused request (400 chat not found) is an OperationalError: the outbox gives it up', async () => {
    const api = http.createServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: chat not found' }));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = api.address() as AddressInfo;
      const bad = new TelegramSender({ token: emu.token, apiRoot: `http://127.0.0.1:${port}` });
      const err = await failure(bad.send('5', 'x', {}));
      expect(err).to.be.instanceOf(OperationalError);
      expect(err).not.to.be.instanceOf(TemporaryError);
      expect((err as Error).message).to.include('chat not found');
    } finally {
      await new Promise((r) => api.close(r));
    }
  });
});
