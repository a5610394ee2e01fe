/**
 * whoami's reading loop with Bot API answers as Telegram gives them (fetch replaced; time on a clock that moves
 * only when waited on): it never spins on an error answer, and the first read forgets what was pending before it.
 */
import { expect } from 'chai';
import { describeWhoAmI, waitForWhoAmI } from '../../src/ops/telegram-whoami';
import { FakeClock } from '../support/fake-clock';

const TOKEN = '123456:ABC-whoami-test-token';

function answer(status: number, body: unknown): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
}

describe('telegram whoami (Bot API reads)', () => {
  it('waits out 502s and non-JSON answers with the backoff instead of spinning, then times out', async () => {
    const clock = new FakeClock(1_700_000_000_000, { sleep: 'advances' });
    let calls = 0;
    const outcome = await waitForWhoAmI({
      token: TOKEN,
      apiRoot: 'http://127.0.0.1:1',
      timeoutMs: 60_000,
      clock,
      random: () => 0.5,
      fetch: async () => {
        calls += 1;
        return calls % 2 ? answer(502, '<html>Bad Gateway</html>') : answer(500, { ok: false });
      },
    });
    expect(outcome).to.include({ ok: false, reason: 'timeout' });
    // 60 s of errors at waits growing from ~1 s to 10 s: a handful of calls, not thousands
    expect(calls).to.be.within(5, 15);
    expect(Math.max(...clock.sleeps)).to.be.at.most(10_000);
  });

  it("a 409 naming a webhook is told as a webhook to delete, not as the telegram service's reading", async () => {
    const outcome = await waitForWhoAmI({
      token: TOKEN,
      apiRoot: 'http://127.0.0.1:1',
      timeoutMs: 60_000,
      clock: new FakeClock(1_700_000_000_000, { sleep: 'advances' }),
      fetch: async () =>
        answer(409, {
          ok: false,
          error_code: 409,
          description:
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        }),
    });
    expect(outcome).to.include({ ok: false, reason: 'conflict' });
    expect(!outcome.ok && outcome.message)
      .to.include('a webhook is set on this bot token')
      .and.include('deleteWebhook');
  });

  it('asks first for the last pending update only and skips it when it predates the start', async () => {
    const start = 1_700_000_000_000;
    const clock = new FakeClock(start, { sleep: 'advances' });
    const bodies: Array<Record<string, unknown>> = [];
    const outcome = await waitForWhoAmI({
      token: TOKEN,
      apiRoot: 'http://127.0.0.1:1',
      timeoutMs: 60_000,
      clock,
      fetch: async (_url, init) => {
        const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
        bodies.push(body);
        if (bodies.length === 1) {
          const stale = {
            text: 'hi',
            chat: { id: 666, type: 'private' },
            from: { id: 666 },
            date: start / 1000 - 600,
          };
          return answer(200, { ok: true, result: [{ update_id: 41, message: stale }] });
        }
        const fresh = {
          text: 'me',
          chat: { id: 4242, type: 'private' },
          from: { id: 4242 },
          date: start / 1000 + 5,
        };
        return answer(200, { ok: true, result: [{ update_id: 42, message: fresh }] });
      },
    });
    expect(bodies[0]).to.include({ offset: -1, timeout: 0 });
    expect(bodies[1]).to.include({ offset: 42 });
    expect(outcome).to.deep.include({ ok: true });
    expect(outcome.ok && outcome.who).to.include({ chatId: '4242', userId: '4242' });
  });

  it("an anonymous admin's /whoami proposes no user id: its `from` is the fake user every anonymous admin shares", async () => {
    const start = 1_700_000_000_000;
    let calls = 0;
    const outcome = await waitForWhoAmI({
      token: TOKEN,
      apiRoot: 'http://127.0.0.1:1',
      timeoutMs: 60_000,
      clock: new FakeClock(start, { sleep: 'advances' }),
      fetch: async () => {
        calls += 1;
        const anonymous = {
          text: '/whoami',
          chat: { id: -1001234, type: 'supergroup', title: 'ops' },
          // Bot API Message.from: "a fake sender user in non-channel chats, if the message was sent on behalf of a chat"
          from: { id: 1087968824, username: 'GroupAnonymousBot', first_name: 'Group', is_bot: true },
          sender_chat: { id: -1001234, type: 'supergroup', title: 'ops' },
          date: start / 1000 + 1,
        };
        return answer(200, { ok: true, result: calls === 1 ? [{ update_id: 7, message: anonymous }] : [] });
      },
    });
    expect(outcome.ok && outcome.who).to.include({ chatId: '-1001234', senderChatId: '-1001234' });
    expect(outcome.ok && outcome.who.userId).to.equal(undefined);
    const text = describeWhoAmI(outcome.ok ? outcome.who : ({} as never));
    expect(text).not.to.include('1087968824');
    expect(text).not.to.include('TELEGRAM_ALLOWED_USER_IDS');
    expect(text).to.include('TELEGRAM_ALLOWED_CHAT_IDS=-1001234').and.include('as yourself');
  });
});
