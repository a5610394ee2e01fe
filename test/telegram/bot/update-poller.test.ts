/** The poller's error policy over a scripted Bot API (no network): which wait follows which answer. */
import { getEventListeners } from 'node:events';
import { expect } from 'chai';
import type { Telegram } from 'telegraf';
import { captureLogger } from '../../support/capture-logger';
import { FakeClock } from '../../support/fake-clock';
import { silentLogger } from '../../../src/shared/logging/logger';
import { UpdatePoller } from '../../../src/telegram/bot/update-poller';

const networkError = (): unknown =>
  Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const apiError = (code: number, description: string): unknown => ({
  response: { error_code: code, description },
});

/** getUpdates answers from the script, then hangs until the poller stops. */
function scriptedTelegram(script: unknown[], done: () => void): Telegram {
  return {
    callApi: (_method: string, _payload: unknown, opts: { signal: AbortSignal }) => {
      const next = script.shift();
      if (next !== undefined) return Promise.reject(next);
      done();
      return new Promise((_resolve, reject) =>
        opts.signal.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    },
  } as unknown as Telegram;
}

async function waitsFor(script: unknown[], random?: () => number): Promise<number[]> {
  const clock = new FakeClock(undefined, { sleep: 'advances' });
  let finished!: () => void;
  const scriptDone = new Promise<void>((resolve) => (finished = resolve));
  const poller = new UpdatePoller({
    telegram: scriptedTelegram(script, finished),
    handle: async () => undefined,
    logger: silentLogger(),
    timeoutSec: 1,
    clock,
    random,
  });
  poller.start();
  await scriptDone;
  await poller.stop();
  return clock.sleeps;
}

describe('UpdatePoller backoff', () => {
  it('network failures back off 1 s → 60 s; an answer from Telegram (409) makes the next failure start at 1 s again', async () => {
    const waits = await waitsFor([
      ...Array.from({ length: 5 }, networkError),
      apiError(409, 'Conflict: terminated by other getUpdates request'),
      networkError(),
    ]);
    expect(waits).to.have.length(7);
    // equal jitter: each wait lies in [step/2, step]
    expect(waits[4]).to.be.within(8_000, 16_000); // 5th failure in a row
    expect(waits[5]).to.be.within(2_500, 5_000); // the conflict's own backoff
    expect(waits[6]).to.be.within(500, 1_000);
  });

  it('waits exactly the one backoff with its jitter pinned: the step at the top, half of it at the bottom', async () => {
    const script = (): unknown[] => [
      networkError(),
      networkError(),
      apiError(409, 'Conflict: terminated by other getUpdates request'),
      apiError(401, 'Unauthorized'),
    ];
    expect(await waitsFor(script(), () => 0)).to.deep.equal([500, 1_000, 2_500, 15_000]);
    expect(await waitsFor(script(), () => 0.999_999)).to.deep.equal([1_000, 2_000, 5_000, 30_000]);
  });

  it('a refused token (401) also ends a network outage for the backoff', async () => {
    const waits = await waitsFor([
      ...Array.from({ length: 6 }, networkError),
      apiError(401, 'Unauthorized'),
      networkError(),
    ]);
    expect(waits[5]).to.be.within(16_000, 32_000);
    expect(waits[7]).to.be.within(500, 1_000);
  });
});

describe('UpdatePoller on a 409 that names a webhook', () => {
  const WEBHOOK_409 = apiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  );

  async function run(script: unknown[]): Promise<{ deletes: unknown[]; waits: number[]; log: string }> {
    const clock = new FakeClock(undefined, { sleep: 'advances' });
    const { logger, lines } = captureLogger();
    let finished!: () => void;
    const scriptDone = new Promise<void>((resolve) => (finished = resolve));
    const deletes: unknown[] = [];
    const telegram = Object.assign(scriptedTelegram(script, finished), {
      deleteWebhook: (extra: unknown) => {
        deletes.push(extra);
        return Promise.resolve(true);
      },
    }) as Telegram;
    const poller = new UpdatePoller({
      telegram,
      handle: async () => undefined,
      logger,
      timeoutSec: 1,
      clock,
    });
    poller.start();
    await scriptDone;
    await poller.stop();
    return { deletes, waits: clock.sleeps, log: lines.map((l) => l.message).join('\n') };
  }

  it('deletes the webhook, pending updates kept, and polls again after the conflict backoff', async () => {
    const { deletes, waits, log } = await run([WEBHOOK_409]);
    expect(deletes).to.deep.equal([{ drop_pending_updates: false }]);
    expect(waits).to.have.length(1);
    expect(waits[0]).to.be.within(2_500, 5_000);
    expect(log).to.include('webhook is set on this bot token');
    expect(log).to.include('deleted it');
    expect(log).not.to.match(/another (bot instance|process) is polling/i);
  });

  it('a 409 from another poller deletes nothing', async () => {
    const { deletes } = await run([apiError(409, 'Conflict: terminated by other getUpdates request')]);
    expect(deletes).to.deep.equal([]);
  });
});

describe('UpdatePoller on a poll never answered', () => {
  it('gives the poll up after its long-poll timeout and the margin, logs it, polls again; no listener left on the stop signal', async () => {
    const clock = new FakeClock(0);
    const { logger, lines } = captureLogger();
    const signals: AbortSignal[] = [];
    // every getUpdates is taken and never answered: only its signal ends it
    const telegram = {
      callApi: (_m: string, _p: unknown, opts: { signal: AbortSignal }) => {
        signals.push(opts.signal);
        return new Promise((_resolve, reject) =>
          opts.signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
    } as unknown as Telegram;
    const poller = new UpdatePoller({
      telegram,
      handle: async () => undefined,
      logger,
      timeoutSec: 2,
      pollMarginMs: 1_000,
      clock,
      backoffBaseMs: 100,
      backoffMaxMs: 100,
      random: () => 0.999_999,
    });
    poller.start();
    await clock.advance(0);
    expect(signals).to.have.length(1);
    await clock.advance(2_990);
    expect(signals[0]!.aborted, 'aborted before its timeout + margin').to.equal(false);
    await clock.advance(10 + 100 + 10);
    expect(signals[0]!.aborted).to.equal(true);
    expect(signals, 'asked again after the backoff').to.have.length(2);
    const warn = lines.find((l) => l.message === 'Telegram polling failed, retrying');
    expect(String(warn?.error)).to.match(/getUpdates: no answer within 3000 ms/);
    // the poller's own stop signal keeps no listener per poll (AbortSignal.any on Node 20 did)
    const stop = (poller as unknown as { abort: AbortController }).abort.signal;
    expect(getEventListeners(stop, 'abort')).to.have.length(1); // the poll in flight only
    await poller.stop();
    expect(signals[1]!.aborted).to.equal(true);
    expect(getEventListeners(stop, 'abort')).to.have.length(0);
  });
});
