import { expect } from 'chai';
import {
  causesOf,
  pauseLeft,
  pauseSummary,
  withCause,
  type PauseFacts,
} from '../../../src/trading/engine/operator/pause-causes';
import {
  defaultTradingState,
  validateTradingState,
  type PauseCause,
  type PauseState,
} from '../../../src/trading/engine/state/trading-state';

const order = (id: string): PauseCause => ({
  reason: `order ${id} not settled`,
  by: 'operational',
  at: 1,
  clientOrderId: id,
});
const keyRefused: PauseCause = { reason: 'invalid API key', by: 'operational', at: 2 };
const killSwitch = { kind: 'daily-loss' as const, reason: 'loss 5%', at: 3 };

function facts(settled: string[], kill: PauseFacts['killSwitch'] = null): PauseFacts {
  return { orderSettled: (id) => settled.includes(id), killSwitch: kill };
}

function paused(...causes: PauseCause[]): PauseState {
  let pause: PauseState | null = null;
  for (const c of causes) pause = withCause(pause, c) ?? pause;
  return pause!;
}

describe('pause causes: a pause lifts by itself only once none of its causes holds', () => {
  it('waits for every order it waits on', () => {
    const pause = paused(order('a'), order('b'));
    expect(pauseLeft(pause, facts(['a']), 9)).to.deep.equal({ ...order('b') });
    expect(pauseLeft(pause, facts(['a', 'b']), 9)).to.equal(null);
  });

  it('never lifts by itself once an operational cause without an order (or the operator) joined', () => {
    expect(pauseLeft(paused(order('a'), keyRefused), facts(['a']), 9)).to.deep.equal(keyRefused);
    const operator: PauseCause = { reason: 'close-all', by: 'operator', at: 4 };
    expect(pauseLeft(paused(order('a'), operator), facts(['a']), 9)).to.deep.equal(operator);
  });

  it('holds a risk cause while the kill switch is set, and a kill switch the pause was kept over (older files)', () => {
    const risk: PauseCause = { reason: 'kill switch: loss 5%', by: 'risk', at: 3 };
    expect(pauseLeft(paused(risk, order('a')), facts([], null), 9)).to.deep.equal(order('a'));
    expect(pauseLeft(paused(order('a'), risk), facts(['a'], killSwitch), 9)).to.deep.equal(risk);
    expect(pauseLeft(paused(order('a')), facts(['a'], killSwitch), 9)).to.deep.equal({
      reason: 'kill switch: loss 5%',
      by: 'risk',
      at: 9,
    });
  });

  it('adds a cause already there only once, and puts the operator first on a take-over', () => {
    const pause = paused(order('a'), keyRefused);
    expect(withCause(pause, order('a'))).to.equal(null);
    expect(withCause(pause, { ...keyRefused, reason: 'insufficient funds' })).to.equal(null);
    const operator: PauseCause = { reason: 'close-all', by: 'operator', at: 4 };
    const taken = withCause(pause, operator, true)!;
    expect(causesOf(taken)).to.deep.equal([operator, order('a'), keyRefused]);
    expect(withCause(taken, operator, true)).to.equal(null);
  });

  it('says every cause, or the first three and how many more', () => {
    expect(pauseSummary(paused(order('a'), keyRefused))).to.equal('order a not settled; invalid API key');
    expect(pauseSummary(paused(order('a'), order('b'), order('c'), order('d'), order('e')))).to.equal(
      'order a not settled; order b not settled; order c not settled; +2 more',
    );
  });

  it('loads a state file whose pause has one order (written before causes joined) as a pause of one cause', () => {
    const file = {
      ...defaultTradingState(),
      pause: { reason: 'order a not settled', by: 'operational', at: 1, clientOrderId: 'a' },
    };
    const pause = validateTradingState(JSON.parse(JSON.stringify(file))).pause!;
    expect(causesOf(pause)).to.deep.equal([order('a')]);
    const joined = withCause(pause, order('b'))!;
    expect(validateTradingState(JSON.parse(JSON.stringify({ ...file, pause: joined }))).pause).to.deep.equal(
      joined,
    );
  });
});
