import { expect } from 'chai';
import fc from 'fast-check';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import { emptyBook, type PositionBook } from '../../../src/trading/engine/books/pnl';
import type { PlacementFacts } from '../../../src/trading/engine/decide/placement-gate';
import {
  cooldownUntil,
  decideOnSignal,
  decideSymbol,
  depthRefusedPiece,
  protectiveCooldownUntil,
  urgentLimitMissed,
  standingExit,
  unsentWaitUntil,
  type SymbolView,
} from '../../../src/trading/engine/decide/symbol-decision';
import { BTC_MARKET, TEST_RISK } from '../../support/risk-fixtures';
import { localOrder } from '../../support/local-order';

const NOW = 1_800_000_000_000;
const market = BTC_MARKET;
const risk = TEST_RISK;

function order(over: Partial<LocalOrder>): LocalOrder {
  return localOrder({
    clientOrderId: 'bot-abc123-1',
    amount: 0.002,
    status: 'open',
    createdAt: NOW - 1_000,
    updatedAt: NOW - 1_000,
    exchangeOrderId: '7',
    ...over,
  });
}

function held(amount: number, entry: number): PositionBook {
  return { ...emptyBook('BTC/USDT'), amount, costBasis: amount * entry, openedAt: NOW - 10_000 };
}

/** Placement facts of a symbol that may place anything (each test changes what it is about). */
function facts(over: Partial<PlacementFacts> = {}): PlacementFacts {
  return {
    refusal: null,
    listed: true,
    halted: false,
    pending: [],
    inferredOrder: null,
    cooldownUntil: null,
    protectiveCooldownUntil: null,
    unsentUntil: null,
    protectiveUnsentUntil: null,
    urgentLimitMissed: false,
    depthRefused: null,
    now: NOW,
    traded: true,
    pause: null,
    positionsHeld: 0,
    risk,
    ...over,
  };
}

function view(
  over: Partial<Omit<SymbolView, 'facts'>> &
    Pick<Partial<PlacementFacts>, 'pending' | 'cooldownUntil' | 'urgentLimitMissed'> = {},
): SymbolView {
  const { pending, cooldownUntil, urgentLimitMissed, ...rest } = over;
  return {
    symbol: 'BTC/USDT',
    market,
    price: 60_000,
    position: undefined,
    risk,
    limitOrderTtlMs: 60_000,
    orderType: 'market',
    ...rest,
    facts: facts({
      pending: pending ?? [],
      cooldownUntil: cooldownUntil ?? null,
      urgentLimitMissed: urgentLimitMissed ?? false,
    }),
  };
}

describe('decideSymbol: what a symbol does this tick', () => {
  it('asks the strategy when nothing is pending', () => {
    expect(decideSymbol(view())).to.deep.equal({ kind: 'strategy', inPosition: false });
    expect(decideSymbol(view({ position: held(0.002, 60_000) }))).to.deep.equal({
      kind: 'strategy',
      inPosition: true,
    });
  });

  it('takes dust worth less than the minimum order value for no position: the strategy may enter again', () => {
    // what a limit entry a quarter filled before its time limit leaves: 0.00003 BTC, 1.80 USDT at 60,000
    const dust = held(0.00003, 60_000);
    expect(decideSymbol(view({ position: dust }))).to.deep.equal({ kind: 'strategy', inPosition: false });
    // no stop-loss on what cannot be sold, even far below its entry
    expect(decideSymbol(view({ position: dust, price: 30_000 }))).to.deep.equal({
      kind: 'strategy',
      inPosition: false,
    });
  });

  it('places nothing while an order outcome is unknown, even when the stop-loss fires', () => {
    for (const status of ['intent', 'unknown'] as const) {
      const d = decideSymbol(
        view({ pending: [order({ status })], position: held(0.002, 60_000), price: 50_000 }),
      );
      expect(d.kind, status).to.equal('wait');
    }
  });

  it('cancels every working order first when the stop-loss or take-profit fires', () => {
    const working = [
      order({ clientOrderId: 'a', type: 'limit', status: 'partially_filled', filled: 0.001 }),
      order({ clientOrderId: 'b', type: 'limit', side: 'sell', purpose: 'exit' }),
    ];
    for (const price of [58_000, 62_000]) {
      const d = decideSymbol(view({ pending: working, position: held(0.001, 60_000), price }));
      expect(d).to.deep.include({ kind: 'cancel', orders: ['a', 'b'] });
    }
  });

  it('then exits the whole position, the filled part of an entry included', () => {
    const d = decideSymbol(view({ position: held(0.0010099, 60_000), price: 58_000 }));
    expect(d).to.deep.include({ kind: 'exit', amount: 0.001 });
    expect((d as { trigger: { kind: string } }).trigger.kind).to.equal('stop-loss');
  });

  it("sells by a limit at the marketable price what is below a market order's own step (Binance MARKET_LOT_SIZE)", () => {
    // one market step bought, its fee taken in the coin: 0.000999 held, no market order sells it
    const lotted = { ...market, marketLot: { step: 0.001 } };
    const d = decideSymbol(view({ market: lotted, position: held(0.000999, 60_000), price: 58_000 }));
    expect(d).to.deep.include({ kind: 'exit', amount: 0.00099, type: 'limit', limitPrice: 56_840 });
    // a take-profit of a limit-configured bot stays at the last price
    const tp = decideSymbol(
      view({ market: lotted, position: held(0.000999, 60_000), price: 62_000, orderType: 'limit' }),
    );
    expect(tp).to.deep.include({ kind: 'exit', amount: 0.00099, type: 'limit', limitPrice: 62_000 });
  });

  it('sells at market what a market order can once such a limit of the position went unsold (the bids below it)', () => {
    const lotted = { ...market, marketLot: { step: 0.001 } };
    const d = decideSymbol(
      view({ market: lotted, position: held(0.004995, 60_000), price: 58_000, urgentLimitMissed: true }),
    );
    expect(d).to.deep.include({ kind: 'exit', amount: 0.004, type: 'market' });
    // less than one market step: by a limit still
    const rest = decideSymbol(
      view({ market: lotted, position: held(0.000995, 60_000), price: 58_000, urgentLimitMissed: true }),
    );
    expect(rest).to.deep.include({ kind: 'exit', amount: 0.00099, type: 'limit' });
  });

  it('exits no more than the account holds (fees of other pairs in the coin, a withdrawal)', () => {
    const d = decideSymbol(view({ position: held(0.002, 60_000), price: 58_000, exitable: 0.00155 }));
    expect(d).to.deep.include({ kind: 'exit', amount: 0.00155 });
    // more held than the position: the position only, the owner's coins stay
    const all = decideSymbol(view({ position: held(0.002, 60_000), price: 58_000, exitable: 0.002 }));
    expect(all).to.deep.include({ kind: 'exit', amount: 0.002 });
  });

  it('writes a confirmed shortfall off when what the account holds of the position cannot be sold', () => {
    const position = held(0.002, 60_000);
    // 0.00001 BTC left, 0.58 USDT: below the 5 USDT minimum
    const unconfirmed = decideSymbol(view({ position, price: 58_000, exitable: 0.00001 }));
    expect(unconfirmed.kind).to.equal('wait');
    const confirmed = decideSymbol(view({ position, price: 58_000, exitable: 0.00001, shortfall: true }));
    expect(confirmed).to.deep.include({ kind: 'write-off' });
    expect((confirmed as { trigger: { kind: string } }).trigger.kind).to.equal('stop-loss');
    // nothing fired: nothing is written off (the position stays, as the operator was told)
    expect(decideSymbol(view({ position, exitable: 0, shortfall: true })).kind).to.equal('strategy');
  });

  it('waits for missing fills before an exit: the position is not known without them', () => {
    const done = order({ status: 'filled', filled: 0.001 });
    expect(
      decideSymbol(view({ pending: [done], position: held(0.001, 60_000), price: 58_000 })).kind,
    ).to.equal('wait');
  });

  it('cancels a limit order of any non-final status once its time to live has passed', () => {
    for (const status of ['open', 'partially_filled'] as const) {
      const old = order({ type: 'limit', status, createdAt: NOW - 61_000 });
      expect(decideSymbol(view({ pending: [old] }))).to.deep.include({ kind: 'cancel' });
      const young = order({ type: 'limit', status, createdAt: NOW - 59_000 });
      expect(decideSymbol(view({ pending: [young] })).kind).to.equal('wait');
    }
  });

  it('cancels a limit entry resting on the exchange once entries are paused (a kill switch, /pause)', () => {
    const pause = { reason: 'daily loss limit', by: 'risk' as const, at: NOW };
    const paused = (pending: LocalOrder[]): SymbolView => {
      const v = view({ pending });
      return { ...v, facts: { ...v.facts, pause } };
    };
    for (const status of ['open', 'partially_filled'] as const) {
      const resting = order({ type: 'limit', purpose: 'entry', status, createdAt: NOW - 5_000 });
      expect(decideSymbol(paused([resting]))).to.deep.include({
        kind: 'cancel',
        orders: [resting.clientOrderId],
        reason: 'entries paused (daily loss limit): a resting entry is cancelled',
      });
      // not paused: it rests until its time to live
      expect(decideSymbol(view({ pending: [resting] })).kind).to.equal('wait');
    }
    // an operational pause (an order in doubt, the state unsaved) waits for the exchange's truth: nothing cancelled
    const resting = order({ type: 'limit', purpose: 'entry', status: 'open' });
    const v = view({ pending: [resting] });
    for (const joined of [[], [{ reason: 'daily loss limit', by: 'risk' as const, at: NOW }]]) {
      const inDoubt = { reason: 'order in doubt', by: 'operational' as const, at: NOW, joined };
      expect(decideSymbol({ ...v, facts: { ...v.facts, pause: inDoubt } }).kind).to.equal('wait');
    }
    // a market entry, an entry not yet answered (looked up, never cancelled blind) and a resting exit are left
    for (const other of [
      order({ type: 'market', purpose: 'entry', status: 'open' }),
      order({ type: 'limit', purpose: 'entry', status: 'unknown' }),
      order({ type: 'limit', purpose: 'exit', side: 'sell', status: 'open' }),
    ])
      expect(decideSymbol(paused([other])).kind, `${other.type} ${other.purpose} ${other.status}`).to.equal(
        'wait',
      );
  });

  it('leaves to its settling an entry the exchange no longer shows: waited on by an operational pause, or in doubt (review 45b)', () => {
    const absent = order({ type: 'limit', purpose: 'entry', status: 'open', createdAt: NOW - 5_000 });
    const other = order({
      clientOrderId: 'bot-abc123-2',
      type: 'limit',
      purpose: 'entry',
      status: 'open',
      createdAt: NOW - 5_000,
    });
    // the operational pause an absent order takes waits on that order: a cancel of it answers "not found" every tick
    const pause = {
      reason: `the exchange no longer shows order ${absent.clientOrderId}; not settled`,
      by: 'operational' as const,
      at: NOW,
      clientOrderId: absent.clientOrderId,
    };
    // an operational pause cancels nothing: its orders are what it waits to learn the truth of
    const v = view({ pending: [absent, other] });
    expect(decideSymbol({ ...v, facts: { ...v.facts, pause } }).kind).to.equal('wait');
    // in doubt (no read can settle it: the operator's /settle), under the operator's /pause
    const inDoubt = { ...other, inDoubtAt: NOW - 1_000 };
    const paused = view({ pending: [inDoubt] });
    const byOperator = { reason: 'operator', by: 'operator' as const, at: NOW };
    expect(decideSymbol({ ...paused, facts: { ...paused.facts, pause: byOperator } }).kind).to.equal('wait');
  });

  it('waits out the cooldown after a refusal', () => {
    expect(decideSymbol(view({ cooldownUntil: NOW + 1 })).kind).to.equal('wait');
    expect(decideSymbol(view({ cooldownUntil: NOW })).kind).to.equal('strategy');
  });

  it('never allows an order while any order of the symbol is unknown (property)', () => {
    const statuses = ['intent', 'unknown', 'open', 'partially_filled', 'filled', 'cancelled'] as const;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...statuses), { minLength: 1, maxLength: 4 }),
        fc.double({ min: 1_000, max: 100_000, noNaN: true }),
        fc.double({ min: 0, max: 0.01, noNaN: true }),
        (ss, price, amount) => {
          const pending = ss.map((status, i) =>
            order({ clientOrderId: `o${i}`, status, filled: status === 'filled' ? 0.001 : 0 }),
          );
          const d = decideSymbol(view({ pending, price, position: held(amount, 60_000) }));
          if (ss.some((s) => s === 'intent' || s === 'unknown')) expect(d.kind).to.equal('wait');
          if (pending.length > 0) expect(d.kind).to.not.equal('strategy');
        },
      ),
    );
  });
});

describe('decideOnSignal', () => {
  const base = {
    inPosition: false,
    market,
    price: 60_000,
    position: undefined,
    facts: facts(),
    stakePerTrade: 100,
    orderType: 'market' as const,
    stopLossPct: 2,
  };
  const enter = { action: 'enter-long' as const, reason: 'x' };

  it('enters with the stake floored to the amount step', () => {
    expect(decideOnSignal({ ...base, signal: enter })).to.deep.equal({ kind: 'enter', amount: 0.00166 });
  });

  it('refuses an entry when paused, untraded, or at the position limit (entries in flight count)', () => {
    const pause = { reason: 'operator', by: 'operator' as const, at: NOW };
    expect(decideOnSignal({ ...base, signal: enter, facts: facts({ pause }) }).kind).to.equal('none');
    expect(decideOnSignal({ ...base, signal: enter, facts: facts({ traded: false }) }).kind).to.equal('none');
    expect(decideOnSignal({ ...base, signal: enter, facts: facts({ positionsHeld: 2 }) }).kind).to.equal(
      'none',
    );
  });

  it('refuses an entry whose position, less its fee, a stop-loss could not sell, and names the stake that would do', () => {
    const at = (stakePerTrade: number, stopLossPct = 2) =>
      decideOnSignal({
        ...base,
        stakePerTrade,
        stopLossPct,
        market: { ...market, takerFee: 0.001 },
        signal: enter,
      });
    // 6 USDT buys 0.0001 BTC; less the 0.1 % fee 0.0000999 → 0.00009 on the step, 5.29 at the 2 % stop: sellable
    expect(at(6)).to.deep.equal({ kind: 'enter', amount: 0.0001 });
    // 5.4 buys 0.00009 (5.40, above the minimum 5); less the fee → 0.00008: 4.70 at the stop, below it
    const refused = at(5.4);
    expect(refused).to.include({ kind: 'none', stakeTooSmall: true });
    const reason = (refused as { reason: string }).reason;
    expect(reason).to.contain('stake 5.4 is too small for BTC/USDT');
    expect(reason).to.contain("less the buy's fee (0.1%)");
    expect(reason).to.contain('a stop-loss at 58800 (−2%)');
    expect(reason).to.contain('order value 4.70 below the minimum 5 of BTC/USDT');
    expect(reason).to.contain('set trading.risk.stakePerTrade to at least 6 ');
    // a wide stop-loss needs more: 10 USDT at −50 % leaves 4.50
    expect((at(10, 50) as { reason: string }).reason).to.contain('at least 11 ');
    // without a stop-loss the position must still be sellable at the price it was bought at, less its fee
    expect((at(5.4, 0) as { reason: string }).reason).to.contain(
      'could not be sold by an exit at this price',
    );
  });

  it("judges an entry's position on the assumed fee where ccxt knows no rate, and counts the dust it adds to", () => {
    // no takerFee: 0.2 % assumed; 6 USDT buys 0.0001, less 0.2 % → 0.00009 on the step: 5.29 at the stop
    expect(decideOnSignal({ ...base, stakePerTrade: 6, signal: enter })).to.deep.equal({
      kind: 'enter',
      amount: 0.0001,
    });
    // 5.3 buys 0.00008 (4.80): refused by the entry's own sizing as before, not as a stake too small
    const unbought = decideOnSignal({ ...base, stakePerTrade: 5.3, signal: enter });
    expect(unbought).to.deep.equal({
      kind: 'none',
      reason: 'order value 4.80 below the minimum 5 of BTC/USDT',
    });
    // 5.5 buys 0.00009; less the fee → 0.00008, 4.70 at the stop; with 0.00003 of dust held the exit sells 0.00011
    expect(decideOnSignal({ ...base, stakePerTrade: 5.5, signal: enter })).to.include({
      stakeTooSmall: true,
    });
    expect(
      decideOnSignal({ ...base, stakePerTrade: 5.5, position: held(0.00003, 60_000), signal: enter }),
    ).to.deep.equal({ kind: 'enter', amount: 0.00009 });
  });

  it('a strategy exit sells no more than the account holds', () => {
    const exit = { action: 'exit-long' as const, reason: 'x' };
    const d = decideOnSignal({
      ...base,
      inPosition: true,
      position: held(0.002, 60_000),
      signal: exit,
      exitable: 0.0015,
    });
    expect(d).to.deep.equal({ kind: 'exit', amount: 0.0015, type: 'market' });
  });

  it('places no strategy exit while another order of the symbol works (close-all sold meanwhile)', () => {
    const sell = order({ side: 'sell', purpose: 'close-all', status: 'open' });
    const d = decideOnSignal({
      ...base,
      inPosition: true,
      position: held(0.002, 60_000),
      signal: { action: 'exit-long', reason: 'x' },
      facts: facts({ pending: [sell] }),
    });
    expect(d.kind).to.equal('none');
  });

  it('enters on top of dust, and the next exit sells the dust with the position', () => {
    const dust = held(0.00003, 60_000);
    expect(decideOnSignal({ ...base, position: dust, signal: enter })).to.deep.equal({
      kind: 'enter',
      amount: 0.00166,
    });
    const d = decideOnSignal({
      ...base,
      inPosition: true,
      position: held(0.00003 + 0.00166, 60_000),
      signal: { action: 'exit-long', reason: 'x' },
    });
    expect(d).to.deep.equal({ kind: 'exit', amount: 0.00169, type: 'market' });
  });

  it('exits what is held, floored to the step, even on an untraded symbol', () => {
    const d = decideOnSignal({
      ...base,
      facts: facts({ traded: false }),
      inPosition: true,
      position: held(0.0016384, 60_000),
      signal: { action: 'exit-long', reason: 'x' },
    });
    expect(d).to.deep.equal({ kind: 'exit', amount: 0.00163, type: 'market' });
  });

  it("sells a holding off a market order's own step whole, by one limit at the marketable price", () => {
    // five market steps bought, the fee taken in the coin: four at market would leave 0.000995 with no exit after it
    const d = decideOnSignal({
      ...base,
      market: { ...market, marketLot: { step: 0.001 } },
      inPosition: true,
      position: held(0.004995, 60_000),
      signal: { action: 'exit-long', reason: 'x' },
    });
    expect(d).to.deep.equal({ kind: 'exit', amount: 0.00499, type: 'limit', limitPrice: 58_800 });
  });
});

describe('urgentLimitMissed: the latest stop-loss, take-profit or close-all piece was a limit that went unsold', () => {
  const limitSell = (over: Partial<LocalOrder>): LocalOrder =>
    order({ side: 'sell', type: 'limit', purpose: 'stop-loss', status: 'cancelled', ...over });

  it('a limit stop-loss or take-profit cancelled with part of it unsold, no entry after it', () => {
    expect(urgentLimitMissed([limitSell({})])).to.equal(true);
    expect(urgentLimitMissed([limitSell({ purpose: 'take-profit', filled: 0.001 })])).to.equal(true);
    // close-all's piece alike: the next stop-loss or close-all goes at market first
    expect(urgentLimitMissed([limitSell({ purpose: 'close-all' })])).to.equal(true);
    // the latest counts: a filled one after it, or an entry (a new position) after it
    const missed = limitSell({ clientOrderId: 'a', createdAt: NOW - 5_000 });
    expect(
      urgentLimitMissed([missed, limitSell({ clientOrderId: 'b', status: 'filled', filled: 0.002 })]),
    ).to.equal(false);
    expect(urgentLimitMissed([missed, order({ clientOrderId: 'c', purpose: 'entry' })])).to.equal(false);
    // a strategy exit after it does not count either way
    expect(
      urgentLimitMissed([missed, order({ clientOrderId: 'd', purpose: 'exit', side: 'sell' })]),
    ).to.equal(true);
  });

  it('not a market order, a refusal (its own backoff), a filled one, or none', () => {
    expect(urgentLimitMissed([limitSell({ type: 'market' })])).to.equal(false);
    expect(urgentLimitMissed([limitSell({ status: 'rejected', refused: true })])).to.equal(false);
    expect(urgentLimitMissed([limitSell({ status: 'filled', filled: 0.002 })])).to.equal(false);
    expect(urgentLimitMissed([])).to.equal(false);
  });

  it('a limit refused for its price band around the average (Binance PERCENT_PRICE_BY_SIDE) is a miss (review 44b)', () => {
    const band = (over: Partial<LocalOrder>): LocalOrder =>
      limitSell({
        status: 'rejected',
        refused: true,
        error: 'binance Filter failure: PERCENT_PRICE_BY_SIDE',
        ...over,
      });
    expect(urgentLimitMissed([band({})])).to.equal(true);
    expect(
      urgentLimitMissed([band({ purpose: 'close-all', error: 'binance Filter failure: PERCENT_PRICE' })]),
    ).to.equal(true);
    // refused unsent (the gate), another refusal, or a market order so refused: no
    expect(urgentLimitMissed([band({ neverSent: true })])).to.equal(false);
    expect(urgentLimitMissed([band({ error: 'binance Filter failure: NOTIONAL' })])).to.equal(false);
    expect(urgentLimitMissed([band({ type: 'market' })])).to.equal(false);
  });
});

describe('depthRefusedPiece: an urgent exit the exchange refused as too large for its book', () => {
  const BYBIT_DEPTH = /^bybit (?:170197|170198):/;
  const TOO_LARGE =
    'bybit 170198: Your order quantity to sell is too large. The filled price may deviate significantly from the market price. Please try again';
  const refused = (over: Partial<LocalOrder>): LocalOrder =>
    order({
      side: 'sell',
      type: 'market',
      purpose: 'stop-loss',
      status: 'rejected',
      refused: true,
      error: TOO_LARGE,
      ...over,
    });
  const entry = order({ clientOrderId: 'e', purpose: 'entry', status: 'filled', createdAt: NOW - 9_000 });

  it('the latest such refusal of a stop-loss, take-profit or close-all piece since the entry, and whether it is the latest exit', () => {
    expect(depthRefusedPiece([entry, refused({ amount: 0.004 })], BYBIT_DEPTH)).to.deep.equal({
      amount: 0.004,
      latest: true,
    });
    // halved and refused again: the smaller one counts
    const first = refused({ clientOrderId: 'a', amount: 0.004, createdAt: NOW - 3_000 });
    const second = refused({
      clientOrderId: 'b',
      amount: 0.002,
      purpose: 'close-all',
      createdAt: NOW - 2_000,
    });
    expect(depthRefusedPiece([entry, first, second], BYBIT_DEPTH)).to.deep.equal({
      amount: 0.002,
      latest: true,
    });
    // a piece taken after it keeps the size (the book stays thin), no longer the latest
    const taken = order({
      clientOrderId: 'c',
      side: 'sell',
      purpose: 'stop-loss',
      status: 'filled',
      filled: 0.001,
    });
    expect(depthRefusedPiece([entry, first, second, taken], BYBIT_DEPTH)).to.deep.equal({
      amount: 0.002,
      latest: false,
    });
    // an exit refused unsent (our rate-limit gate) neither counts nor hides it
    const unsent = refused({ clientOrderId: 'u', neverSent: true, error: 'rate limit', createdAt: NOW });
    expect(depthRefusedPiece([entry, first, unsent], BYBIT_DEPTH)).to.deep.equal({
      amount: 0.004,
      latest: true,
    });
  });

  it('none after a new entry, for another refusal, for a strategy exit, or where the exchange has no such answer', () => {
    const old = refused({ clientOrderId: 'a', createdAt: NOW - 20_000 });
    expect(depthRefusedPiece([old, entry], BYBIT_DEPTH)).to.equal(null);
    expect(
      depthRefusedPiece([refused({ error: 'bybit 170131: Balance insufficient' })], BYBIT_DEPTH),
    ).to.equal(null);
    expect(depthRefusedPiece([refused({ purpose: 'exit' })], BYBIT_DEPTH)).to.equal(null);
    expect(depthRefusedPiece([refused({})], undefined)).to.equal(null);
  });

  it('a firing stop-loss sells half the refused piece at once, through the refusal backoff', () => {
    const base = view({ position: held(0.004, 60_000), price: 58_000 });
    const d = decideSymbol({
      ...base,
      facts: facts({ depthRefused: { amount: 0.004, latest: true }, protectiveCooldownUntil: NOW + 60_000 }),
    });
    expect(d).to.include({ kind: 'exit', amount: 0.002, type: 'market' });
    // a piece taken since: the next ones keep that size
    const next = decideSymbol({
      ...base,
      position: held(0.002, 60_000),
      facts: facts({ depthRefused: { amount: 0.002, latest: false } }),
    });
    expect(next).to.include({ kind: 'exit', amount: 0.001, type: 'market' });
  });

  it('a piece refused at the smallest an order can sell waits the backoff: none can be smaller', () => {
    // 5 USDT at 58,000: 9 steps of 0.00001
    const base = view({ position: held(0.004, 60_000), price: 58_000 });
    const d = decideSymbol({
      ...base,
      facts: facts({
        depthRefused: { amount: 0.00009, latest: true },
        protectiveCooldownUntil: NOW + 60_000,
      }),
    });
    expect(d.kind).to.equal('wait');
    expect(d.kind === 'wait' && d.reason).to.match(
      /too large for its book and none can be smaller; tried again in 60 s/,
    );
    // once the backoff is over, the smallest piece goes again
    const later = decideSymbol({
      ...base,
      facts: facts({ depthRefused: { amount: 0.00009, latest: true }, protectiveCooldownUntil: NOW - 1 }),
    });
    expect(later).to.include({ kind: 'exit', amount: 0.00009 });
  });
});

describe('cooldownUntil: refusals in a row wait longer', () => {
  const refused = (n: number, at: number, retryAfterMs?: number): LocalOrder =>
    order({
      clientOrderId: `r${n}`,
      status: 'rejected',
      refused: true,
      createdAt: at,
      updatedAt: at,
      retryAfterMs,
    });

  it('is null unless the latest order was refused', () => {
    expect(cooldownUntil([], 1000, 60_000)).to.equal(null);
    expect(cooldownUntil([refused(1, NOW), order({ createdAt: NOW + 1 })], 1000, 60_000)).to.equal(null);
  });

  it('doubles per refusal in a row, up to the maximum, and honours the wait the exchange asked for', () => {
    expect(cooldownUntil([refused(1, NOW)], 1000, 60_000)).to.equal(NOW + 1000);
    expect(cooldownUntil([refused(1, NOW - 10), refused(2, NOW)], 1000, 60_000)).to.equal(NOW + 2000);
    const many = Array.from({ length: 12 }, (_, i) => refused(i, NOW - 12 + i));
    expect(cooldownUntil(many, 1000, 60_000)).to.equal(NOW - 1 + 60_000);
    expect(cooldownUntil([refused(1, NOW, 5_000)], 1000, 60_000)).to.equal(NOW + 5_000);
  });

  it('passes over orders refused unsent: they neither start nor lengthen the streak', () => {
    const unsent = (n: number, at: number): LocalOrder => ({ ...refused(n, at, 800), neverSent: true });
    expect(cooldownUntil([unsent(1, NOW)], 1000, 60_000)).to.equal(null);
    expect(cooldownUntil([unsent(1, NOW - 20), unsent(2, NOW - 10), unsent(3, NOW)], 1000, 60_000)).to.equal(
      null,
    );
    // the exchange's refusal before them keeps its own cooldown, not doubled by them
    expect(cooldownUntil([refused(1, NOW - 20), unsent(2, NOW - 10), unsent(3, NOW)], 1000, 60_000)).to.equal(
      NOW - 20 + 1000,
    );
    expect(
      cooldownUntil([refused(1, NOW - 20), unsent(2, NOW - 10), refused(3, NOW)], 1000, 60_000),
    ).to.equal(NOW + 2000);
  });
});

describe('unsentWaitUntil: an order refused before it left waits only the wait it was given', () => {
  const unsent = (n: number, at: number, retryAfterMs?: number): LocalOrder =>
    order({
      clientOrderId: `u${n}`,
      status: 'rejected',
      refused: true,
      neverSent: true,
      error: "not sent: the exchange's request pacing would hold it past its 1000 ms",
      createdAt: at,
      updatedAt: at + 5,
      retryAfterMs,
    });

  it('is the latest order refused unsent plus its wait, whatever came before it', () => {
    expect(unsentWaitUntil([unsent(1, NOW, 800)])).to.equal(NOW + 5 + 800);
    expect(unsentWaitUntil([unsent(1, NOW)])).to.equal(NOW + 5);
    const many = Array.from({ length: 12 }, (_, i) => unsent(i, NOW - 12 + i, 800));
    expect(unsentWaitUntil(many)).to.equal(NOW - 1 + 5 + 800);
    // a ban's long wait, whole: the gate refuses anything sooner (each try one more alert, its wait worded anew)
    expect(unsentWaitUntil([unsent(1, NOW, 3 * 86_400_000)])).to.equal(NOW + 5 + 3 * 86_400_000);
    const exchangeRefused = order({
      status: 'rejected',
      refused: true,
      createdAt: NOW - 50,
      updatedAt: NOW - 50,
    });
    expect(unsentWaitUntil([exchangeRefused, unsent(2, NOW, 300)])).to.equal(NOW + 5 + 300);
  });

  it('is null when the latest order is anything else', () => {
    expect(unsentWaitUntil([])).to.equal(null);
    expect(unsentWaitUntil([unsent(1, NOW - 10, 800), order({ createdAt: NOW })])).to.equal(null);
    const refusedByExchange = order({ status: 'rejected', refused: true, createdAt: NOW, updatedAt: NOW });
    expect(unsentWaitUntil([refusedByExchange])).to.equal(null);
    // an intent the state could not save never left either, but was not refused: nothing to wait for
    const unsaved = order({ status: 'rejected', neverSent: true, createdAt: NOW, updatedAt: NOW });
    expect(unsentWaitUntil([unsaved])).to.equal(null);
  });
});

describe('protectiveCooldownUntil: a stop-loss the exchange keeps refusing backs off, never gives up', () => {
  const stop = (n: number, at: number, over: Partial<LocalOrder> = {}): LocalOrder =>
    order({
      clientOrderId: `s${n}`,
      side: 'sell',
      purpose: 'stop-loss',
      status: 'rejected',
      refused: true,
      error: 'binance -1013: Filter failure: MARKET_LOT_SIZE',
      createdAt: at,
      updatedAt: at,
      ...over,
    });

  it('is null unless the latest stop-loss/take-profit was refused (an entry refusal never holds it back)', () => {
    expect(protectiveCooldownUntil([], 2000, 300_000)).to.equal(null);
    const entryRefused = order({ status: 'rejected', refused: true, createdAt: NOW, updatedAt: NOW });
    expect(protectiveCooldownUntil([entryRefused], 2000, 300_000)).to.equal(null);
    expect(
      protectiveCooldownUntil(
        [stop(1, NOW - 10), stop(2, NOW, { refused: false, status: 'filled' })],
        2000,
        300_000,
      ),
    ).to.equal(null);
  });

  it('doubles per identical refusal in a row, up to the maximum, and stays there (it is always tried again)', () => {
    expect(protectiveCooldownUntil([stop(1, NOW)], 2000, 300_000)).to.equal(NOW + 2000);
    expect(protectiveCooldownUntil([stop(1, NOW - 10), stop(2, NOW)], 2000, 300_000)).to.equal(NOW + 4000);
    const many = Array.from({ length: 40 }, (_, i) => stop(i, NOW - 40 + i));
    expect(protectiveCooldownUntil(many, 2000, 300_000)).to.equal(NOW - 1 + 300_000);
    // a different refusal starts the backoff again; the wait the exchange asked for is honoured
    const other = stop(3, NOW, {
      error: 'binance -2010: Account has insufficient balance for requested action.',
    });
    expect(protectiveCooldownUntil([stop(1, NOW - 20), stop(2, NOW - 10), other], 2000, 300_000)).to.equal(
      NOW + 2000,
    );
    expect(protectiveCooldownUntil([stop(1, NOW, { retryAfterMs: 9_000 })], 2000, 300_000)).to.equal(
      NOW + 9_000,
    );
  });

  it('passes over stop-losses refused unsent: our pacing never lengthens the backoff of a stop-loss', () => {
    const unsent = (n: number, at: number): LocalOrder =>
      stop(n, at, {
        neverSent: true,
        error: "not sent: the exchange's request pacing would hold it past its 1000 ms",
        retryAfterMs: 700,
      });
    const many = Array.from({ length: 40 }, (_, i) => unsent(i, NOW - 40 + i));
    expect(protectiveCooldownUntil(many, 2000, 300_000)).to.equal(null);
    expect(
      protectiveCooldownUntil([stop(1, NOW - 20), unsent(2, NOW - 10), unsent(3, NOW)], 2000, 300_000),
    ).to.equal(NOW - 20 + 2000);
  });

  it('backs off a stop-loss the exchange expired with nothing filled (self-trade prevention) like a refusal', () => {
    // Binance EXPIRE_TAKER against the owner's resting buy: the market sell ends EXPIRED, 0 filled, every time
    const expired = (n: number, at: number, over: Partial<LocalOrder> = {}): LocalOrder =>
      stop(n, at, { status: 'expired', refused: undefined, error: undefined, filled: 0, ...over });
    expect(protectiveCooldownUntil([expired(1, NOW)], 2000, 300_000)).to.equal(NOW + 2000);
    expect(protectiveCooldownUntil([expired(1, NOW - 10), expired(2, NOW)], 2000, 300_000)).to.equal(
      NOW + 4000,
    );
    // an expired exit that filled part of its amount did something: the next one goes out at once
    expect(protectiveCooldownUntil([expired(1, NOW, { filled: 0.001 })], 2000, 300_000)).to.equal(null);
  });

  it('holds a firing stop-loss back until then: the tick waits instead of sending the same refusal again', () => {
    const d = decideSymbol({
      ...view({ position: held(0.002, 60_000), price: 50_000 }),
      facts: { ...facts(), protectiveCooldownUntil: NOW + 1 },
    });
    expect(d).to.deep.include({ kind: 'wait' });
    expect((d as { reason: string }).reason).to.match(/refused the last stop-loss alike; tried again in 1 s/);
    const later = decideSymbol({
      ...view({ position: held(0.002, 60_000), price: 50_000 }),
      facts: { ...facts(), protectiveCooldownUntil: NOW },
    });
    expect(later.kind).to.equal('exit');
  });
});

describe('standingExit: a strategy exit its time to live cancelled', () => {
  const TTL = 60_000;
  const missed = (n: number, at: number, over: Partial<LocalOrder> = {}): LocalOrder =>
    order({
      clientOrderId: `x${n}`,
      side: 'sell',
      type: 'limit',
      purpose: 'exit',
      status: 'cancelled',
      createdAt: at,
      updatedAt: at + TTL + 500,
      ...over,
    });
  const entry = order({
    status: 'filled',
    filled: 0.002,
    createdAt: NOW - 500_000,
    updatedAt: NOW - 500_000,
  });

  it('stands with the tries in a row and the first one sent, a partly filled one counted', () => {
    const orders = [entry, missed(1, NOW - 300_000), missed(2, NOW - 200_000, { filled: 0.001 })];
    expect(standingExit(orders, TTL)).to.deep.equal({ since: NOW - 300_000, tries: 2, latest: 'x2' });
  });

  it('does not stand once the strategy said hold after its latest miss; a later miss starts a new chain', () => {
    const lapsed = missed(2, NOW - 200_000, { exitLapsedAt: NOW - 100_000 });
    expect(standingExit([entry, missed(1, NOW - 300_000), lapsed], TTL)).to.equal(null);
    // a new exit signal later, missed too: its tries count from none, since its own send
    expect(
      standingExit([entry, missed(1, NOW - 300_000), lapsed, missed(3, NOW - 50_000)], TTL),
    ).to.deep.equal({
      since: NOW - 50_000,
      tries: 1,
      latest: 'x3',
    });
  });

  it('counts every miss as a try but an exit refused unsent: that one never reached the exchange', () => {
    const refused = missed(2, NOW - 200_000, { status: 'rejected', refused: true, updatedAt: NOW - 200_000 });
    const unsent = missed(3, NOW - 150_000, {
      status: 'rejected',
      refused: true,
      neverSent: true,
      updatedAt: NOW - 150_000,
    });
    const expired = missed(4, NOW - 100_000, { status: 'expired', updatedAt: NOW - 100_000 });
    expect(standingExit([entry, missed(1, NOW - 300_000), refused, unsent, expired], TTL)).to.deep.equal({
      since: NOW - 300_000,
      tries: 3,
      latest: 'x4',
    });
    // unsent only: the exit stands with no try yet (never sent at market for them)
    expect(standingExit([entry, unsent], TTL)).to.deep.equal({
      since: NOW - 150_000,
      tries: 0,
      latest: 'x3',
    });
  });

  it('does not stand after anything else: a filled exit, a stop-loss, an exit cancelled before its time to live', () => {
    expect(standingExit([entry], TTL)).to.equal(null);
    const filled = missed(2, NOW - 200_000, { status: 'filled', filled: 0.002 });
    expect(standingExit([entry, missed(1, NOW - 300_000), filled], TTL)).to.equal(null);
    const stop = order({
      clientOrderId: 's',
      side: 'sell',
      purpose: 'stop-loss',
      status: 'filled',
      filled: 0.002,
    });
    expect(standingExit([entry, missed(1, NOW - 300_000), stop], TTL)).to.equal(null);
    // the owner cancelled it on the exchange (or a stop did): nothing of ours to chase
    const early = missed(1, NOW - 300_000, { updatedAt: NOW - 300_000 + TTL - 1 });
    expect(standingExit([entry, early], TTL)).to.equal(null);
    expect(standingExit([entry, missed(1, NOW - 300_000, { type: 'market' })], TTL)).to.equal(null);
  });
});
