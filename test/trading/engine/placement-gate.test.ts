import { expect } from 'chai';
import fc from 'fast-check';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import {
  placementBlock,
  type PlacementFacts,
  type PlacementPurpose,
  type PlacementRule,
} from '../../../src/trading/engine/decide/placement-gate';
import { localOrder } from '../../support/local-order';

const NOW = 1_800_000_000_000;
const PURPOSES: PlacementPurpose[] = ['entry', 'exit', 'stop-loss', 'take-profit', 'close-all'];

function order(id: string, over: Partial<LocalOrder>): LocalOrder {
  return localOrder({
    clientOrderId: id,
    type: 'limit',
    amount: 0.002,
    price: 50_000,
    status: 'open',
    createdAt: NOW - 1_000,
    updatedAt: NOW - 1_000,
    ...over,
  });
}

/** A symbol that may place anything: each row changes what it is about. */
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
    risk: { maxOpenPositions: 2 },
    ...over,
  };
}

const unknown = order('u', { status: 'unknown' });
const intent = order('i', { status: 'intent' });
const working = order('w', { status: 'partially_filled', filled: 0.001 });
const finishedWithoutFills = order('f', { status: 'filled', filled: 0.002 });
const pause = { reason: 'operator says so', by: 'operator' as const, at: NOW };

/** [what, facts, the rule each purpose meets in PURPOSES order: entry, exit, stop-loss, take-profit, close-all]. */
const TABLE: Array<[string, Partial<PlacementFacts>, Array<PlacementRule | null>]> = [
  ['nothing holds the symbol', {}, [null, null, null, null, null]],
  ['an order outcome is unknown', { pending: [unknown] }, Array(5).fill('unknown')],
  ['an intent not yet sent', { pending: [intent] }, Array(5).fill('unknown')],
  [
    'unknown wins over every other rule',
    { pending: [working, unknown], refusal: 'trading is stopping', listed: false, pause },
    Array(5).fill('unknown'),
  ],
  ['recovery has not finished', { refusal: 'recovery has not finished' }, Array(5).fill('refused')],
  ['trading is stopping', { refusal: 'trading is stopping', pause }, Array(5).fill('refused')],
  ['the exchange no longer lists the symbol', { listed: false }, Array(5).fill('unlisted')],
  ['the exchange halted the symbol (BREAK): nothing, exits too', { halted: true }, Array(5).fill('halted')],
  ['halted wins over a working order', { halted: true, pending: [working] }, Array(5).fill('halted')],
  ['an order is working', { pending: [working] }, Array(5).fill('working')],
  ['a finished order lacks its fills', { pending: [finishedWithoutFills] }, Array(5).fill('fills-missing')],
  ['working wins over missing fills', { pending: [finishedWithoutFills, working] }, Array(5).fill('working')],
  [
    'cooldown after a refusal: entries and strategy exits wait, risk exits and close-all do not',
    { cooldownUntil: NOW + 1 },
    ['cooldown', 'cooldown', null, null, null],
  ],
  ['cooldown over', { cooldownUntil: NOW }, [null, null, null, null, null]],
  [
    'backoff after refused stop-loss/take-profit exits: only they wait it',
    { protectiveCooldownUntil: NOW + 1 },
    [null, null, 'cooldown', 'cooldown', null],
  ],
  ['protective backoff over', { protectiveCooldownUntil: NOW }, [null, null, null, null, null]],
  [
    'the latest urgent exit refused as too large for the book: a smaller piece does not wait the backoff',
    { protectiveCooldownUntil: NOW + 1, depthRefused: { amount: 0.004, latest: true } },
    [null, null, null, null, null],
  ],
  [
    'a piece taken since that refusal: the backoff of a later refusal holds as before',
    { protectiveCooldownUntil: NOW + 1, depthRefused: { amount: 0.004, latest: false } },
    [null, null, 'cooldown', 'cooldown', null],
  ],
  [
    'the last order refused unsent by the rate-limit gate: entries and strategy exits wait the wait it was given',
    { unsentUntil: NOW + 1 },
    ['cooldown', 'cooldown', null, null, null],
  ],
  [
    'the last stop-loss/take-profit refused unsent: only they wait it',
    { protectiveUnsentUntil: NOW + 1 },
    [null, null, 'cooldown', 'cooldown', null],
  ],
  [
    'the waits after unsent refusals over',
    { unsentUntil: NOW, protectiveUnsentUntil: NOW },
    [null, null, null, null, null],
  ],
  ['symbol no longer traded: exits only', { traded: false }, ['untraded', null, null, null, null]],
  ['entries paused: exits go on', { pause }, ['paused', null, null, null, null]],
  ['position limit reached', { positionsHeld: 2 }, ['position-limit', null, null, null, null]],
  ['one below the position limit', { positionsHeld: 1 }, [null, null, null, null, null]],
  [
    'cooldown comes before the entry rules',
    { cooldownUntil: NOW + 1, pause, traded: false },
    ['cooldown', 'cooldown', null, null, null],
  ],
  ['untraded comes before paused', { traded: false, pause }, ['untraded', null, null, null, null]],
  ['paused comes before the position limit', { pause, positionsHeld: 5 }, ['paused', null, null, null, null]],
];

describe('placementBlock: the one answer to "may an order be placed on this symbol now?"', () => {
  for (const [what, over, expected] of TABLE) {
    it(what, () => {
      const got = PURPOSES.map((p) => placementBlock(facts(over), p)?.rule ?? null);
      expect(got).to.deep.equal(expected);
    });
  }

  it('holds every order of a symbol whose inferred sell is in question, its stop-loss and close-all included', () => {
    const inferredOrder = { orders: ['bot-2'], reason: 'the account holds less BTC than before sell bot-2' };
    for (const purpose of ['entry', 'exit', 'stop-loss', 'take-profit', 'close-all'] as const) {
      expect(placementBlock(facts({ inferredOrder }), purpose)).to.deep.equal({
        rule: 'inferred-order',
        orders: ['bot-2'],
        reason: inferredOrder.reason,
      });
    }
  });

  it('names the orders that hold the symbol and the reason an operator can act on', () => {
    const block = placementBlock(facts({ pending: [working] }), 'close-all');
    expect(block).to.deep.include({ rule: 'working', orders: ['w'] });
    expect(block!.reason).to.include('w');
    expect(placementBlock(facts({ refusal: 'trading is stopping' }), 'exit')!.reason).to.match(/stopping/);
    expect(placementBlock(facts({ pause }), 'entry')!.reason).to.include('operator says so');
    expect(placementBlock(facts({ cooldownUntil: NOW + 1_500 }), 'entry')!.reason).to.include('2 s');
    expect(placementBlock(facts({ unsentUntil: NOW + 800 }), 'entry')!.reason).to.equal(
      'the last order was held back unsent by the rate-limit gate; next one in 1 s',
    );
    expect(placementBlock(facts({ protectiveUnsentUntil: NOW + 2_500 }), 'stop-loss')!.reason).to.equal(
      'the last stop-loss was held back unsent by the rate-limit gate; next one in 3 s',
    );
  });

  it("says an order in doubt is the operator's to settle, with the commands /settle accepts for it", () => {
    const absent = order('a', { status: 'open', inDoubtAt: NOW - 1 });
    const short = order('s', { status: 'open', filled: 0.001, inDoubtAt: NOW - 1 });
    const finished = order('f', { status: 'filled', filled: 0.002, inDoubtAt: NOW - 1 });
    const unknownInDoubt = order('u', { status: 'unknown', inDoubtAt: NOW - 1 });
    const reason = (pending: LocalOrder[]): string => placementBlock(facts({ pending }), 'stop-loss')!.reason;
    expect(reason([absent])).to.include('/settle a none, or /settle a filled <amount> <average price>');
    // its answer said more filled than its fills booked: `none` would be refused
    expect(reason([short]))
      .to.include('/settle s filled <amount> <average price> (the whole executed amount, at least the 0.001')
      .and.not.include('/settle s none');
    expect(reason([finished]))
      .to.include('/settle f filled <amount> <average price>')
      .and.not.include('/settle f none');
    expect(reason([unknownInDoubt])).to.include('/settle u none, or /settle u filled');
    for (const pending of [[working], [finishedWithoutFills], [unknown]])
      expect(reason(pending), 'not in doubt: its own answers settle it').to.not.include('/settle');
  });

  it('never allows an order while any order of the symbol is unresolved or working (property)', () => {
    const statuses = ['intent', 'unknown', 'open', 'partially_filled', 'filled', 'cancelled'] as const;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...statuses), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(...PURPOSES),
        (ss, purpose) => {
          const pending = ss.map((status, i) => order(`o${i}`, { status }));
          const block = placementBlock(facts({ pending }), purpose);
          expect(block, ss.join(',')).to.not.equal(null);
          if (ss.some((s) => s === 'intent' || s === 'unknown')) expect(block!.rule).to.equal('unknown');
        },
      ),
    );
  });
});
