import { expect } from 'chai';
import fc from 'fast-check';
import type { TradingEvent } from '../../../src/shared/ipc/protocol';
import type { OnlineReport } from '../../../src/telegram/supervisor/alert-policy';
import {
  emptyReadinessState,
  stepReadiness,
  type ReadinessEvent,
  type ReadinessOutcome,
  type ReadinessState,
} from '../../../src/telegram/supervisor/readiness';

const t0 = 1_700_000_000_000;
const SETTINGS = { trading: 'trading', recoveryWaitMs: 10_000, operatorConfirmMs: 1_500 };

function report(service: string, over: Partial<OnlineReport> = {}): OnlineReport {
  return { service, cause: 'crash', at: t0, restarts: 1, downSince: t0 - 2_000, ...over };
}

function recovery(seq: number, ts = t0): TradingEvent {
  return { seq, ts, type: 'recovery', summary: 'recovered', data: { restoredOrders: seq } };
}

describe('readiness: "back online" means ready', () => {
  let state: ReadinessState;
  beforeEach(() => {
    state = emptyReadinessState();
  });
  const step = (event: ReadinessEvent, now: number): ReadinessOutcome =>
    stepReadiness(state, event, now, SETTINGS);
  const online = (service: string, over: Partial<OnlineReport> = {}, waitsForReady = true) =>
    ({ kind: 'online', report: report(service, over), waitsForReady }) as const;

  it('PM2’s online alone is not back online; the ready message is, and the outage lasts until it', () => {
    expect(step(online('worker'), t0).online).to.deep.equal([]);
    const out = step({ kind: 'ready', service: 'worker' }, t0 + 700);
    expect(out.online).to.have.length(1);
    expect(out.online[0]!.report).to.include({ service: 'worker', at: t0 + 700, downMs: 2_700 });
  });

  it('a ready that PM2 forwards before its online of the same run counts', () => {
    step({ kind: 'ready', service: 'worker' }, t0);
    expect(step(online('worker'), t0 + 1).online).to.have.length(1);
  });

  it('a run that dies while starting (online, then exit) gets no back online — 7 times in a row, 7 times none', () => {
    for (let i = 0; i < 7; i++) {
      expect(step(online('trading', { at: t0 + i * 100 }), t0 + i * 100).online).to.deep.equal([]);
      expect(step({ kind: 'exit', service: 'trading' }, t0 + i * 100 + 50).online).to.deep.equal([]);
      expect(step({ kind: 'tick' }, t0 + i * 100 + 60_000).online).to.deep.equal([]);
    }
    expect(state.pending).to.deep.equal({});
  });

  it('PM2’s online after listen_timeout without ready waits (no timer) until ready comes, however late', () => {
    const first = step(online('trading', { cause: 'start', downSince: undefined }), t0);
    expect(first.online).to.deep.equal([]);
    expect(first.wakeAt).to.equal(undefined);
    expect(step({ kind: 'tick' }, t0 + 600_000).online).to.deep.equal([]);
    step({ kind: 'recovery', event: recovery(3, t0 + 600_000), onlineDue: true }, t0 + 600_000);
    const out = step({ kind: 'ready', service: 'trading' }, t0 + 600_001);
    expect(out.online).to.have.length(1);
    expect(out.online[0]!.recovery!.seq).to.equal(3);
  });

  it('trading’s back online carries its recovery summary, whichever comes first', () => {
    // recovery before PM2's online (its TCP link is quicker than the bus)
    step({ kind: 'recovery', event: recovery(1), onlineDue: true }, t0);
    step({ kind: 'ready', service: 'trading' }, t0 + 10);
    const a = step(online('trading'), t0 + 11);
    expect(a.online.map((o) => o.recovery?.seq)).to.deep.equal([1]);
    // recovery after ready (link reconnecting): waits for it
    step(online('trading'), t0 + 100);
    const waiting = step({ kind: 'ready', service: 'trading' }, t0 + 110);
    expect(waiting.online).to.deep.equal([]);
    expect(waiting.wakeAt).to.equal(t0 + 110 + SETTINGS.recoveryWaitMs);
    const b = step({ kind: 'recovery', event: recovery(2, t0 + 200), onlineDue: true }, t0 + 200);
    expect(b.online.map((o) => o.recovery?.seq)).to.deep.equal([2]);
  });

  it('trading ready without a recovery in time goes out without it', () => {
    step(online('trading'), t0);
    step({ kind: 'ready', service: 'trading' }, t0);
    expect(step({ kind: 'tick' }, t0 + 9_999).online).to.deep.equal([]);
    const out = step({ kind: 'tick' }, t0 + 10_000);
    expect(out.online).to.have.length(1);
    expect(out.online[0]!.recovery).to.equal(undefined);
  });

  it('a run that was ready but is killed while its back online waits for the recovery gets it at its exit', () => {
    step(online('trading'), t0);
    step({ kind: 'ready', service: 'trading' }, t0 + 1);
    const out = step({ kind: 'exit', service: 'trading' }, t0 + 2);
    expect(out.online).to.have.length(1);
    expect(out.online[0]!.report.at).to.equal(t0 + 1);
  });

  it('the recovery of a run that exits before ready is released to be sent on its own', () => {
    step(online('trading'), t0);
    step({ kind: 'recovery', event: recovery(5), onlineDue: true }, t0 + 1);
    const out = step({ kind: 'exit', service: 'trading' }, t0 + 2);
    expect(out.unmerged.map((e) => e.seq)).to.deep.equal([5]);
    expect(out.online).to.deep.equal([]);
  });

  it('a recovery whose run is slow to get ready is released after the wait (the event stream must go on)', () => {
    step(online('trading'), t0);
    const held = step({ kind: 'recovery', event: recovery(4), onlineDue: true }, t0 + 1);
    expect(held.unmerged).to.deep.equal([]);
    expect(held.wakeAt).to.equal(t0 + 1 + SETTINGS.recoveryWaitMs);
    expect(step({ kind: 'tick' }, t0 + 1 + SETTINGS.recoveryWaitMs).unmerged.map((e) => e.seq)).to.deep.equal(
      [4],
    );
    // it still gets its back online, without the summary, when it is ready at last
    const out = step({ kind: 'ready', service: 'trading' }, t0 + 600_000);
    expect(step({ kind: 'tick' }, t0 + 610_000).online.concat(out.online)).to.have.length(1);
  });

  it('a replayed (old) recovery, or one with no outage known, is sent on its own at once', () => {
    expect(
      step({ kind: 'recovery', event: recovery(1, t0 - 60_000), onlineDue: true }, t0).unmerged,
    ).to.have.length(1);
    expect(step({ kind: 'recovery', event: recovery(2), onlineDue: false }, t0).unmerged).to.have.length(1);
    // an early recovery nobody claims is released after the wait
    step({ kind: 'recovery', event: recovery(3), onlineDue: true }, t0);
    expect(step({ kind: 'tick' }, t0 + 10_000).unmerged.map((e) => e.seq)).to.deep.equal([3]);
  });

  it('a restart with no crash waits a moment after ready for an operator’s restart event to name the cause', () => {
    step(online('worker', { cause: 'restart', downSince: undefined }), t0);
    const ready = step({ kind: 'ready', service: 'worker' }, t0 + 5);
    expect(ready.online).to.deep.equal([]);
    expect(ready.wakeAt).to.equal(t0 + 5 + 1_500);
    const out = step({ kind: 'operator-restart', service: 'worker' }, t0 + 20);
    expect(out.online[0]!.report.cause).to.equal('operator');
    // without the confirmation it goes out as a restart PM2 did by itself
    step(online('worker', { cause: 'restart', downSince: undefined }), t0 + 2_000);
    step({ kind: 'ready', service: 'worker' }, t0 + 2_000);
    expect(step({ kind: 'tick' }, t0 + 3_500).online[0]!.report.cause).to.equal('restart');
  });

  it('an app without wait_ready is ready at its online', () => {
    expect(step(online('worker', {}, false), t0).online).to.have.length(1);
  });

  it('close sends what is ready (without waiting for a recovery) and drops what is not', () => {
    step(online('trading'), t0);
    step({ kind: 'ready', service: 'trading' }, t0);
    step(online('worker'), t0);
    const out = step({ kind: 'close' }, t0 + 2);
    expect(out.online.map((o) => o.report.service)).to.deep.equal(['trading']);
    expect(state.pending).to.deep.equal({});
  });
});

describe('readiness: properties over random runs', () => {
  const service = fc.constantFrom('trading', 'worker');
  const action = fc.oneof(
    fc.record({
      kind: fc.constant('online' as const),
      service,
      waitsForReady: fc.boolean(),
      restart: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('ready' as const), service }),
    fc.record({ kind: fc.constant('recovery' as const), stale: fc.boolean(), onlineDue: fc.boolean() }),
    fc.record({ kind: fc.constant('operator-restart' as const), service }),
    fc.record({ kind: fc.constant('exit' as const), service }),
    fc.constant({ kind: 'tick' as const }),
  );
  const run = fc.array(fc.tuple(action, fc.integer({ min: 0, max: 15_000 })), { maxLength: 40 });

  it('every recovery offered is settled exactly once by close: merged into one back-online alert, or released', () => {
    fc.assert(
      fc.property(run, (actions) => {
        const state = emptyReadinessState();
        let now = t0;
        let seq = 0;
        const offered: number[] = [];
        const settled: number[] = [];
        const onlines: Record<string, number> = {};
        const alerts: Record<string, number> = {};
        const apply = (event: ReadinessEvent): void => {
          const out = stepReadiness(state, event, now, SETTINGS);
          for (const o of out.online) {
            alerts[o.report.service] = (alerts[o.report.service] ?? 0) + 1;
            if (o.recovery) settled.push(o.recovery.seq);
          }
          for (const r of out.unmerged) settled.push(r.seq);
        };
        for (const [a, dt] of actions) {
          now += dt;
          if (a.kind === 'online') {
            onlines[a.service] = (onlines[a.service] ?? 0) + 1;
            apply({
              kind: 'online',
              report: report(a.service, { cause: a.restart ? 'restart' : 'crash' }),
              waitsForReady: a.waitsForReady,
            });
          } else if (a.kind === 'recovery') {
            offered.push(++seq);
            apply({
              kind: 'recovery',
              event: recovery(seq, a.stale ? now - 60_000 : now),
              onlineDue: a.onlineDue,
            });
          } else if (a.kind === 'tick') apply({ kind: 'tick' });
          else apply({ kind: a.kind, service: a.service });
        }
        apply({ kind: 'close' });
        expect([...settled].sort((x, y) => x - y)).to.deep.equal(offered);
        // never more back-online alerts than PM2 onlines: one run, at most one alert
        for (const [name, count] of Object.entries(alerts)) expect(count).to.be.at.most(onlines[name] ?? 0);
      }),
    );
  });
});
