import { expect } from 'chai';
import {
  AuthenticationError,
  NetworkError,
  OperationalError,
  PermissionDeniedError,
} from '../../../src/shared/errors';
import { silentLogger } from '../../../src/shared/logging/logger';
import {
  DeliveryHealth,
  nextDelivery,
  type DeliveryState,
} from '../../../src/telegram/notify/delivery-health';
import { toTelegramError } from '../../../src/telegram/bot/telegram-errors';
import { FallbackSender } from '../../../src/telegram/notify/fallback-sender';
import type { MessageSender } from '../../../src/telegram/notify/notification';
import { FakeClock } from '../../support/fake-clock';

const t0 = 1_700_000_000_000;
const OK: DeliveryState = { alerts: 'telegram' };

describe('Telegram delivery health', () => {
  it('a refused token or chat sends alerts to the log; the first success sends them to the chat again', () => {
    const refused = nextDelivery(OK, { kind: 'unauthorized', detail: '401' }, t0);
    expect(refused).to.deep.equal({
      alerts: 'log',
      problem: { kind: 'unauthorized', since: t0, detail: '401' },
    });
    // still refused later: the problem keeps its start
    expect(nextDelivery(refused, { kind: 'unauthorized', detail: '401' }, t0 + 5).problem!.since).to.equal(
      t0,
    );
    expect(nextDelivery(refused, { kind: 'token-ok', polled: true }, t0 + 9)).to.deep.equal(OK);
    const chat = nextDelivery(OK, { kind: 'chat-refused', detail: '403' }, t0);
    expect(chat.alerts).to.equal('log');
    // a working token says nothing about the chat; a message that went through does
    expect(nextDelivery(chat, { kind: 'token-ok', polled: true }, t0 + 1).alerts).to.equal('log');
    expect(nextDelivery(chat, { kind: 'sent' }, t0 + 1)).to.deep.equal(OK);
  });

  it('a conflict (409) or an outage keeps alerts on Telegram and is cleared by a poll / any success', () => {
    const conflict = nextDelivery(OK, { kind: 'conflict', detail: '409' }, t0);
    expect(conflict.alerts).to.equal('telegram');
    expect(nextDelivery(conflict, { kind: 'sent' }, t0 + 1).problem!.kind).to.equal('conflict');
    expect(nextDelivery(conflict, { kind: 'token-ok', polled: true }, t0 + 1)).to.deep.equal(OK);
    const down = nextDelivery(OK, { kind: 'unreachable', detail: 'ECONNRESET' }, t0);
    expect(down).to.deep.include({ alerts: 'telegram' });
    expect(nextDelivery(down, { kind: 'token-ok', polled: false }, t0 + 1)).to.deep.equal(OK);
  });

  it('a lesser problem does not hide a worse one', () => {
    const refused = nextDelivery(OK, { kind: 'unauthorized', detail: '401' }, t0);
    expect(nextDelivery(refused, { kind: 'unreachable', detail: 'x' }, t0 + 1)).to.equal(refused);
    expect(nextDelivery(refused, { kind: 'conflict', detail: 'x' }, t0 + 1)).to.equal(refused);
  });

  it('the groups Telegram moved stay in the state through every outcome, and reach the status record', () => {
    const movedChats = [{ from: '-4001', to: '-1004001', settings: ['TELEGRAM_CHAT_ID'] }];
    const moved: DeliveryState = { alerts: 'telegram', movedChats };
    const refused = nextDelivery(moved, { kind: 'chat-refused', detail: '403' }, t0);
    expect(refused.movedChats).to.deep.equal(movedChats);
    expect(nextDelivery(refused, { kind: 'sent' }, t0 + 1)).to.deep.equal(moved);
    const recorded: DeliveryState[] = [];
    const health = new DeliveryHealth({
      logger: silentLogger(),
      clock: new FakeClock(t0),
      onChange: (state) => recorded.push(state),
    });
    health.setMovedChats(movedChats);
    health.report({ kind: 'unreachable', detail: 'ECONNRESET' });
    expect(recorded.at(-1)).to.deep.include({ movedChats });
    health.setMovedChats([]);
    expect(health.state).not.to.have.property('movedChats');
  });

  it('log-only by configuration stays log-only', () => {
    const noChat: DeliveryState = { alerts: 'log', logOnlyReason: 'no-chat-id' };
    expect(nextDelivery(noChat, { kind: 'token-ok', polled: true }, t0)).to.deep.equal(noChat);
    expect(nextDelivery(noChat, { kind: 'conflict', detail: '409' }, t0).alerts).to.equal('log');
  });
});

describe('FallbackSender', () => {
  function setup(telegram: MessageSender) {
    const clock = new FakeClock(t0);
    const logged: string[] = [];
    const changes: DeliveryState[] = [];
    const health = new DeliveryHealth({ logger: silentLogger(), clock, onChange: (s) => changes.push(s) });
    const sender = new FallbackSender({
      telegram,
      log: { send: async (_c, html) => void logged.push(html) },
      health,
      clock,
      retryBaseMs: 1_000,
      retryMaxMs: 4_000,
      random: () => 0.5,
    });
    return { clock, logged, changes, health, sender };
  }

  it('401: the alert is written to the log (delivered), Telegram is tried again only after a backoff', async () => {
    let calls = 0;
    let refuse = true;
    const { clock, logged, health, sender } = setup({
      send: async () => {
        calls += 1;
        if (refuse) throw new AuthenticationError('Telegram sendMessage failed: 401 Unauthorized');
      },
    });
    await sender.send('1', 'crash 1', {});
    expect(logged).to.deep.equal(['crash 1']);
    expect(health.state.alerts).to.equal('log');
    await sender.send('1', 'crash 2', {}); // inside the backoff: straight to the log
    expect(calls).to.equal(1);
    expect(logged).to.deep.equal(['crash 1', 'crash 2']);
    refuse = false;
    await clock.advance(1_000);
    await sender.send('1', 'crash 3', {});
    expect(calls).to.equal(2);
    expect(logged).to.have.length(2);
    expect(health.state).to.deep.equal({ alerts: 'telegram' });
  });

  it('a refused token (401) waits for every chat; a refusing chat (403) only for itself', async () => {
    const token = setup({ send: () => Promise.reject(new AuthenticationError('401 Unauthorized')) });
    await token.sender.send('1', 'a', {});
    await token.sender.send('2', 'b', {}); // the token's backoff: not tried
    expect(token.logged).to.deep.equal(['a', 'b']);

    const sent: string[] = [];
    const chat = setup({
      send: async (chatId, html) => {
        if (chatId === '1') throw new PermissionDeniedError('403 Forbidden: bot was blocked by the user');
        sent.push(`${chatId}: ${html}`);
      },
    });
    await chat.sender.send('1', 'c', {});
    await chat.sender.send('2', 'd', {});
    await chat.sender.send('1', 'e', {}); // chat 1's backoff: not tried
    expect(chat.logged).to.deep.equal(['c', 'e']);
    expect(sent).to.deep.equal(['2: d']);
  });

  it('403 and "chat not found" fall back to the log too; a 400 of the message itself and a network error do not', async () => {
    for (const err of [
      new PermissionDeniedError('403 Forbidden: bot was kicked'),
      // as TelegramSender throws it: the Bot API's answer classified in one place (bot/telegram-errors.ts)
      toTelegramError(
        { response: { error_code: 400, description: 'Bad Request: chat not found' } },
        'sendMessage',
      ),
    ]) {
      const { logged, health, sender } = setup({ send: () => Promise.reject(err) });
      await sender.send('1', 'alert', {});
      expect(logged).to.deep.equal(['alert']);
      expect(health.state.problem!.kind).to.equal('chat-refused');
    }
    const bad = setup({
      send: () => Promise.reject(new OperationalError("400 Bad Request: can't parse entities")),
    });
    await expectRejected(bad.sender.send('1', 'x', {}));
    expect(bad.logged).to.deep.equal([]);
    const down = setup({ send: () => Promise.reject(new NetworkError('ECONNRESET')) });
    await expectRejected(down.sender.send('1', 'x', {}));
    expect(down.health.state).to.deep.include({ alerts: 'telegram' });
    expect(down.health.state.problem!.kind).to.equal('unreachable');
  });
});

async function expectRejected(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    return;
  }
  throw new Error('expected a rejection');
}
