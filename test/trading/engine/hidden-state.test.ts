import { expect } from 'chai';
import type { ExchangeOrder } from '../../../src/trading/exchange/exchange';
import {
  HIDDEN_STATE_CODE,
  hiddenStateCause,
  hiddenStateEvidence,
  hiddenStateReason,
  unconfirmedNewState,
} from '../../../src/trading/engine/start/hidden-state';
import { hasCode, withCause } from '../../../src/trading/engine/operator/pause-causes';
import {
  defaultTradingState,
  validateTradingState,
  type TradingState,
} from '../../../src/trading/engine/state/trading-state';
import { EngineHarness, MARKET_BUY } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import type { EventLog } from '../../../src/shared/ipc/event-log';
import type { EventPublisher } from '../../../src/trading/engine/state/event-outbox';

const order = (clientOrderId: string | undefined, over: Partial<ExchangeOrder> = {}): ExchangeOrder => ({
  ...MARKET_BUY,
  id: `x-${clientOrderId ?? 'none'}`,
  clientOrderId,
  filled: 0.001,
  remaining: 0,
  status: 'closed',
  ...over,
});

describe('hidden state: a new state on an account another install of this bot traded (pure)', () => {
  it('is evidence: orders of this bot from another install, each once, the newest time said', () => {
    const open = order('bot-old111-7', { status: 'open', filled: 0, remaining: 0.001, timestamp: 5_000 });
    const e = hiddenStateEvidence('bot', 'new222', [
      open,
      order('bot-old111-6', { timestamp: 4_000 }),
      // the same order in the recent list too: counted once
      { ...open, status: 'open' },
      order('bot-9', { timestamp: 1_000 }),
    ]);
    expect(e).to.deep.equal({ installIds: ['old111', '-'], orders: 3, open: 1, newestAt: 5_000 });
  });

  it("is no evidence: this install's own orders, another bot's, ids not ours, OKX's old form of another install", () => {
    expect(
      hiddenStateEvidence('bot', 'new222', [
        order('bot-new222-1'),
        order('bot2-old111-1'),
        order('otherZold111Z1'),
        order(undefined),
        order('x-123'),
        // `<botId><installId><seq>`: "bot2"'s old OKX ids read the same, only our own install id makes them ours
        order('botold1111'),
      ]),
    ).to.equal(null);
    expect(hiddenStateEvidence('bot', 'new222', [])).to.equal(null);
  });

  it("counts OKX's `Z` form of another install, and says no time when the exchange did not", () => {
    expect(hiddenStateEvidence('bot', 'new222', [order('botZold111Z3')])).to.deep.equal({
      installIds: ['old111'],
      orders: 1,
      open: 0,
    });
  });

  it('says what was seen, BYNINJA_DATA_DIR and its path, and both ways on; nothing secret', () => {
    const reason = hiddenStateReason(
      { installIds: ['old111'], orders: 2, open: 1, newestAt: Date.UTC(2026, 11, 4, 21, 0) },
      'new222',
      '/mnt/byninja/data',
    );
    expect(reason).to.include('has never traded (no state file, or a new one: install new222)');
    expect(reason).to.include('2 orders of this bot from install old111, newest 2026-12-04T21:00:00.000Z');
    expect(reason).to.include('1 still open (adopted, watched)');
    expect(reason).to.include('BYNINJA_DATA_DIR is /mnt/byninja/data');
    // the ways the project gives (pm2 is a local dependency: a bare `pm2` may not be on PATH; from Telegram, /restart)
    expect(reason).to.include('/restart trading (or `npx byninja restart trading`');
    expect(reason).to.not.match(/(^|[^/])pm2 restart/);
    expect(reason).to.include('/resume (or `npx byninja resume`) to trade on');
  });

  it('is a cause of its own: it joins an operational pause (a refused key) instead of being taken for it', () => {
    const keyRefused = { reason: 'invalid API key', by: 'operational' as const, at: 1 };
    const pause = withCause(withCause(null, keyRefused), hiddenStateCause('state missing or hidden', 2));
    expect(pause?.joined).to.deep.equal([
      { reason: 'state missing or hidden', by: 'operational', at: 2, code: HIDDEN_STATE_CODE },
    ]);
    expect(hasCode(pause, HIDDEN_STATE_CODE)).to.equal(true);
    expect(withCause(pause, hiddenStateCause('again', 3)), 'the same cause joins once').to.equal(null);
  });

  it('a new state is one that never traded and that no operator confirmed as a fresh install', () => {
    const fresh = defaultTradingState();
    expect(unconfirmedNewState(fresh)).to.equal(true);
    expect(unconfirmedNewState({ ...fresh, seq: 1 })).to.equal(false);
    expect(unconfirmedNewState({ ...fresh, newInstallConfirmedAt: 1 })).to.equal(false);
    // the confirmation and a cause's code survive the state file's schema
    const kept = validateTradingState(
      JSON.parse(
        JSON.stringify({
          ...fresh,
          newInstallConfirmedAt: 7,
          pause: { reason: 'r', by: 'operational', at: 1, code: HIDDEN_STATE_CODE },
        }),
      ),
    );
    expect(kept.newInstallConfirmedAt).to.equal(7);
    expect(kept.pause?.code).to.equal(HIDDEN_STATE_CODE);
  });
});

describe('hidden state at start: the pause, its restart and its confirmation (integration, paper exchange)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);
  const LAST_EXIT = { kind: 'crash' as const, reason: 'test' };
  const FACTS = { newState: true, dataDir: '/mnt/byninja/data' };
  /** The state as written (the pause and the confirmation are committed, not debounced). */
  const file = (): TradingState => h!.stateFile() as unknown as TradingState;

  /** The exchange holds an order another install of this bot sent (its state out of reach). */
  async function anotherInstallTraded(): Promise<void> {
    h = await EngineHarness.open();
    await h.paper.createOrder({ ...MARKET_BUY, clientOrderId: 'bot-old111-4' });
  }

  it('pauses entries with its own cause, before recovery changes the state; exits and adoption run as always', async () => {
    await anotherInstallTraded();
    const summary = await h!.loop.recover(LAST_EXIT, undefined, FACTS);
    expect(summary.hiddenState).to.include({ orders: 1, open: 0 });
    const pause = file().pause;
    expect(pause).to.include({ by: 'operational', code: HIDDEN_STATE_CODE });
    expect(pause!.reason).to.include('BYNINJA_DATA_DIR is /mnt/byninja/data');
    const paused = h!.events.find((e) => e.type === 'trading.paused');
    expect(paused?.summary).to.match(/state missing or hidden/);
    // a risk or operational lift leaves it: only the operator's /resume does
    await h!.loop.resumeEntries('operational');
    expect(file().pause).to.include({ code: HIDDEN_STATE_CODE });
  });

  it('is no pause without the new-state fact (a state that traded, paper, dry-run)', async () => {
    await anotherInstallTraded();
    const summary = await h!.loop.recover(LAST_EXIT, undefined, { ...FACTS, newState: false });
    expect(summary.hiddenState).to.equal(undefined);
    expect(file().pause).to.equal(null);
  });

  it("holds across a restart of the fresh state, and the operator's /resume confirms the new install once", async () => {
    await anotherInstallTraded();
    await h!.loop.recover(LAST_EXIT, undefined, FACTS);
    h = await h!.restart();
    // still new (it never traded): checked again, the same cause does not join twice
    expect(unconfirmedNewState(file())).to.equal(true);
    await h.loop.recover(LAST_EXIT, undefined, FACTS);
    expect(file().pause).to.include({ code: HIDDEN_STATE_CODE });
    expect(file().pause!.joined).to.equal(undefined);
    await h.loop.resumeEntries('operator');
    expect(file().pause).to.equal(null);
    expect(file().newInstallConfirmedAt).to.be.a('number');
    h = await h.restart();
    expect(unconfirmedNewState(file())).to.equal(false);
  });
});

describe('hidden state: its alert is not lost to a crash after the pause was committed (review 33d)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);
  const LAST_EXIT = { kind: 'crash' as const, reason: 'test' };
  const FACTS = { newState: true, dataDir: '/mnt/byninja/data' };

  it('a start that died between the pause commit and its trading.paused alert: the next start sends it', async () => {
    // the event log refuses the pause's alert: the process dies with the pause on disk, its alert not logged
    const refusePause = (log: EventLog): EventPublisher => ({
      publish: (type, summary, data) =>
        type === 'trading.paused'
          ? Promise.reject(new Error('died before the alert was logged'))
          : log.publish(type, summary, data),
      hasEventKey: (key) => log.hasEventKey(key),
    });
    h = await EngineHarness.open({ wrapEvents: refusePause });
    await h.paper.createOrder({ ...MARKET_BUY, clientOrderId: 'bot-old111-4' });
    await h.loop.recover(LAST_EXIT, undefined, FACTS);
    expect((h.stateFile() as unknown as TradingState).pause).to.include({ code: HIDDEN_STATE_CODE });
    expect(h.eventTypes()).to.not.include('trading.paused');
    h = await h.restart({ wrapEvents: undefined });
    await h.loop.recover(LAST_EXIT, undefined, FACTS);
    const paused = h.events.filter((e) => e.type === 'trading.paused');
    expect(paused.map((e) => e.summary)).to.have.length(1);
    expect(paused[0]!.summary).to.match(/state missing or hidden/);
  });
});
