/** The IPC client's link as a pure state machine: every state × every event, then properties over random runs. */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  INITIAL_LINK_STATE,
  refusalOf,
  stepLink,
  unreachableReason,
  type LinkEffect,
  type LinkEvent,
  type LinkState,
} from '../../../src/shared/ipc/link-state';

const ON = { reconnect: true };
const OFF = { reconnect: false };
const T = 1_000_000;
const outage = { since: T - 500, reason: 'connection refused (trading not listening)' };

const STATES: Record<LinkState['kind'], LinkState> = {
  idle: { kind: 'idle' },
  connecting: { kind: 'connecting', failures: 2, outage },
  up: { kind: 'up', since: T - 100 },
  backoff: { kind: 'backoff', failures: 2, outage },
  down: { kind: 'down', failures: 2, outage },
  closed: { kind: 'closed' },
};
const EVENTS: Record<LinkEvent['kind'], LinkEvent> = {
  connect: { kind: 'connect' },
  connected: { kind: 'connected' },
  lost: { kind: 'lost', reason: 'connection reset' },
  'retry-due': { kind: 'retry-due' },
  'peer-ready': { kind: 'peer-ready' },
  close: { kind: 'close' },
};

const kinds = (effects: LinkEffect[]): string[] => effects.map((e) => e.kind);
/** Transitions that change the state without an effect. */
const REMEMBERS = new Set(['connecting peer-ready']);

describe('ipc/link-state (pure)', () => {
  describe('every state × every event', () => {
    // [state, event] → [next state kind, effect kinds]; anything not listed leaves the state alone with no effect
    const table: Record<string, [LinkState['kind'], string[]]> = {
      'idle connect': ['connecting', ['dial']],
      'idle lost': ['idle', []],
      'idle close': ['closed', ['cancel-retry', 'drop-connection', 'settle-waiters']],
      'connecting connected': ['up', ['report', 'go-live', 'start-heartbeat', 'settle-waiters']],
      'connecting lost': ['backoff', ['drop-connection', 'settle-waiters', 'schedule-retry']],
      'connecting close': ['closed', ['cancel-retry', 'drop-connection', 'settle-waiters']],
      // remembered (the attempt may have dialled before the peer listened): no effect now, see below
      'connecting peer-ready': ['connecting', []],
      'up lost': ['backoff', ['drop-connection', 'report', 'settle-waiters', 'schedule-retry']],
      'up close': ['closed', ['cancel-retry', 'drop-connection', 'settle-waiters']],
      'backoff retry-due': ['connecting', ['dial']],
      // the peer said it listens: the backoff's wait ends now
      'backoff peer-ready': ['connecting', ['cancel-retry', 'dial']],
      'backoff close': ['closed', ['cancel-retry', 'drop-connection', 'settle-waiters']],
      'down connect': ['connecting', ['dial']],
      'down close': ['closed', ['cancel-retry', 'drop-connection', 'settle-waiters']],
    };
    for (const [stateKind, state] of Object.entries(STATES)) {
      for (const [eventKind, event] of Object.entries(EVENTS)) {
        const [next, effects] = table[`${stateKind} ${eventKind}`] ?? [stateKind, []];
        it(`${stateKind} + ${eventKind} → ${next}${effects.length ? ` (${effects.join(', ')})` : ''}`, () => {
          const step = stepLink(state, event, T, ON);
          expect(step.state.kind).to.equal(next);
          expect(kinds(step.effects)).to.deep.equal(effects);
          if (effects.length === 0 && !REMEMBERS.has(`${stateKind} ${eventKind}`))
            expect(step.state).to.equal(state);
        });
      }
    }
  });

  it('a ready heard while an attempt runs sends the next at once if that one fails — once, and never after a refusal', () => {
    const attempt: LinkState = { kind: 'connecting', failures: 2, outage };
    const heard = stepLink(attempt, { kind: 'peer-ready' }, T, ON);
    expect(heard.effects).to.deep.equal([]);
    // heard again: nothing more
    expect(stepLink(heard.state, { kind: 'peer-ready' }, T, ON).state).to.equal(heard.state);
    // the attempt had dialled before the peer listened: it fails, and the next goes now, not after a backoff
    const failed = stepLink(heard.state, { kind: 'lost', reason: 'connection refused' }, T + 1, ON);
    expect(failed.state).to.deep.equal({
      kind: 'connecting',
      failures: 3,
      outage: { since: outage.since, reason: 'connection refused' },
    });
    expect(kinds(failed.effects)).to.deep.equal(['drop-connection', 'settle-waiters', 'dial']);
    // that one fails too: its backoff, as any failure
    const again = stepLink(failed.state, { kind: 'lost', reason: 'connection refused' }, T + 2, ON);
    expect(again.state.kind).to.equal('backoff');
    expect(again.effects).to.deep.include({ kind: 'schedule-retry', failures: 4 });
    // a refusal is trading's answer: waited out as before
    const refused = stepLink(
      heard.state,
      { kind: 'lost', reason: 'hello: Unauthorized', refused: true },
      T + 1,
      ON,
    );
    expect(refused.state.kind).to.equal('backoff');
    expect(kinds(refused.effects)).to.include('schedule-retry');
    // the attempt succeeds: up as always
    expect(stepLink(heard.state, { kind: 'connected' }, T + 1, ON).state.kind).to.equal('up');
    // the first attempt of all (no outage yet) fails after a ready: down reported once, and the next goes now
    const first = stepLink(
      stepLink(INITIAL_LINK_STATE, { kind: 'connect' }, T, ON).state,
      { kind: 'peer-ready' },
      T,
      ON,
    );
    expect(kinds(stepLink(first.state, { kind: 'lost', reason: 'x' }, T + 1, ON).effects)).to.deep.equal([
      'drop-connection',
      'report',
      'settle-waiters',
      'dial',
    ]);
    // reconnect off: the app dials itself, nothing is remembered
    expect(stepLink(attempt, { kind: 'peer-ready' }, T, OFF).state).to.equal(attempt);
  });

  it('the first attempt failing reports down once; later failures of the same outage report nothing', () => {
    let s = stepLink(INITIAL_LINK_STATE, { kind: 'connect' }, T, ON).state;
    const first = stepLink(s, { kind: 'lost', reason: 'connection refused' }, T, ON);
    expect(first.effects).to.deep.include({
      kind: 'report',
      change: { up: false, reason: 'connection refused' },
    });
    s = stepLink(first.state, { kind: 'retry-due' }, T + 100, ON).state;
    const second = stepLink(s, { kind: 'lost', reason: 'connection reset' }, T + 100, ON);
    expect(kinds(second.effects)).to.not.include('report');
    expect(unreachableReason(second.state)).to.equal('connection reset'); // what a call is told: the latest
  });

  it('up after an outage reports how long it lasted, from its first failure; a first connect reports 0', () => {
    let s = stepLink(INITIAL_LINK_STATE, { kind: 'connect' }, T, ON).state;
    expect(stepLink(s, { kind: 'connected' }, T + 30, ON).effects[0]).to.deep.equal({
      kind: 'report',
      change: { up: true, downtimeMs: 0 },
    });
    s = stepLink(s, { kind: 'lost', reason: 'x' }, T + 10, ON).state;
    s = stepLink(s, { kind: 'retry-due' }, T + 200, ON).state;
    s = stepLink(s, { kind: 'lost', reason: 'y' }, T + 210, ON).state;
    s = stepLink(s, { kind: 'retry-due' }, T + 600, ON).state;
    expect(stepLink(s, { kind: 'connected' }, T + 700, ON).effects[0]).to.deep.equal({
      kind: 'report',
      change: { up: true, downtimeMs: 690 },
    });
  });

  it('counts failures for the backoff from 1 again after every link that came up', () => {
    let s: LinkState = stepLink(INITIAL_LINK_STATE, { kind: 'connect' }, T, ON).state;
    const scheduled: number[] = [];
    const lose = (): void => {
      const step = stepLink(s, { kind: 'lost', reason: 'x' }, T, ON);
      for (const e of step.effects) if (e.kind === 'schedule-retry') scheduled.push(e.failures);
      s = stepLink(step.state, { kind: 'retry-due' }, T, ON).state;
    };
    lose();
    lose();
    lose();
    s = stepLink(s, { kind: 'connected' }, T, ON).state;
    lose();
    lose();
    expect(scheduled).to.deep.equal([1, 2, 3, 1, 2]);
  });

  it('with reconnect off a failure leaves the link down (no retry) until the app connects again', () => {
    let s = stepLink(INITIAL_LINK_STATE, { kind: 'connect' }, T, OFF).state;
    const lost = stepLink(s, { kind: 'lost', reason: 'refused' }, T, OFF);
    expect(lost.state.kind).to.equal('down');
    expect(kinds(lost.effects)).to.not.include('schedule-retry');
    s = stepLink(lost.state, { kind: 'connect' }, T + 5, OFF).state;
    expect(s.kind).to.equal('connecting');
  });

  it("keeps trading's refusal through later failures of the outage and forgets it once the link is up", () => {
    let s = stepLink(INITIAL_LINK_STATE, { kind: 'connect' }, T, ON).state;
    s = stepLink(
      s,
      { kind: 'lost', reason: 'hello: Unauthorized: wrong token', refused: true },
      T + 1,
      ON,
    ).state;
    expect(refusalOf(s)).to.deep.equal({ at: T + 1, reason: 'hello: Unauthorized: wrong token' });
    s = stepLink(s, { kind: 'retry-due' }, T + 50, ON).state;
    s = stepLink(s, { kind: 'lost', reason: 'connection refused' }, T + 60, ON).state;
    expect(refusalOf(s)).to.deep.equal({ at: T + 1, reason: 'hello: Unauthorized: wrong token' });
    s = stepLink(s, { kind: 'retry-due' }, T + 200, ON).state;
    s = stepLink(s, { kind: 'connected' }, T + 210, ON).state;
    expect(refusalOf(s)).to.equal(null);
  });

  it('what a call is told while the link is not up', () => {
    expect(unreachableReason(STATES.idle)).to.equal('not connected yet');
    expect(unreachableReason({ kind: 'connecting', failures: 0 })).to.equal('not connected yet');
    expect(unreachableReason(STATES.backoff)).to.equal(outage.reason);
    expect(unreachableReason(STATES.closed)).to.equal('IPC client is closed');
  });

  describe('properties over random runs', () => {
    const eventArb: fc.Arbitrary<LinkEvent> = fc.oneof(
      fc.constant<LinkEvent>({ kind: 'connect' }),
      fc.constant<LinkEvent>({ kind: 'connected' }),
      fc.record({
        kind: fc.constant<'lost'>('lost'),
        reason: fc.constantFrom('refused', 'reset', 'heartbeat failed'),
        refused: fc.boolean(),
      }),
      fc.constant<LinkEvent>({ kind: 'retry-due' }),
      fc.constant<LinkEvent>({ kind: 'peer-ready' }),
      fc.constant<LinkEvent>({ kind: 'close' }),
    );
    const runArb = fc.array(fc.tuple(eventArb, fc.integer({ min: 0, max: 10_000 })), { maxLength: 60 });

    function run(events: Array<[LinkEvent, number]>, settings: { reconnect: boolean }) {
      let state: LinkState = INITIAL_LINK_STATE;
      let now = T;
      const trace: Array<{
        event: LinkEvent;
        before: LinkState;
        after: LinkState;
        effects: LinkEffect[];
        now: number;
      }> = [];
      for (const [event, dt] of events) {
        now += dt;
        const step = stepLink(state, event, now, settings);
        trace.push({ event, before: state, after: step.state, effects: step.effects, now });
        state = step.state;
      }
      return trace;
    }

    it('the app hears down and up alternately, starting with whichever comes first, each once per change', () => {
      fc.assert(
        fc.property(runArb, fc.boolean(), (events, reconnect) => {
          const reports = run(events, { reconnect }).flatMap((t) =>
            t.effects.flatMap((e) => (e.kind === 'report' ? [e.change.up] : [])),
          );
          for (let i = 1; i < reports.length; i++) expect(reports[i]).to.not.equal(reports[i - 1]);
        }),
      );
    });

    it('one attempt at a time: a dial happens only when no attempt runs or waits, or the one that ran was dropped first', () => {
      fc.assert(
        fc.property(runArb, fc.boolean(), (events, reconnect) => {
          for (const t of run(events, { reconnect })) {
            const effects = kinds(t.effects);
            if (effects.includes('dial')) {
              if (t.before.kind === 'connecting') {
                // a failed attempt after the peer said it listens: dropped, then the next
                expect(effects.indexOf('drop-connection')).to.be.within(0, effects.indexOf('dial') - 1);
                expect(effects).to.not.include('schedule-retry');
              } else expect(['idle', 'backoff', 'down']).to.include(t.before.kind);
              expect(t.after.kind).to.equal('connecting');
            }
          }
        }),
      );
    });

    it('closed is final: no effect, no state change, whatever comes after', () => {
      fc.assert(
        fc.property(runArb, (events) => {
          let closed = false;
          for (const t of run(events, ON)) {
            if (closed) {
              expect(t.effects).to.deep.equal([]);
              expect(t.after.kind).to.equal('closed');
            }
            if (t.after.kind === 'closed') closed = true;
          }
        }),
      );
    });

    it('every retry scheduled counts the failures since the link was last up; none with reconnect off', () => {
      fc.assert(
        fc.property(runArb, fc.boolean(), (events, reconnect) => {
          let sinceUp = 0;
          for (const t of run(events, { reconnect })) {
            if (t.after.kind === 'up') sinceUp = 0;
            const lostAccepted = t.event.kind === 'lost' && kinds(t.effects).includes('drop-connection');
            if (lostAccepted) sinceUp += 1;
            for (const e of t.effects) {
              if (e.kind !== 'schedule-retry') continue;
              expect(reconnect).to.equal(true);
              expect(e.failures).to.equal(sinceUp);
            }
          }
        }),
      );
    });

    it('waiters are settled whenever an attempt ends (up or failed) and at close; refusals never outlive an up', () => {
      fc.assert(
        fc.property(runArb, fc.boolean(), (events, reconnect) => {
          for (const t of run(events, { reconnect })) {
            // an attempt ends when the state leaves connecting, or when it failed and the next went at once (a
            // ready heard while it ran): its connection dropped
            const ended =
              (t.before.kind === 'connecting' &&
                (t.after.kind !== 'connecting' || kinds(t.effects).includes('drop-connection'))) ||
              (t.after.kind === 'closed' && t.before.kind !== 'closed');
            expect(kinds(t.effects).includes('settle-waiters')).to.equal(
              ended || (t.before.kind === 'up' && t.after.kind !== 'up'),
            );
            if (t.after.kind === 'up') expect(refusalOf(t.after)).to.equal(null);
          }
        }),
      );
    });
  });
});
