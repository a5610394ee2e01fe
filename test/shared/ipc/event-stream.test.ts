/** The client's event stream without a socket: resume point, hold-back, dedup by seq, acks. */
import { expect } from 'chai';
import fc from 'fast-check';
import { EventStream } from '../../../src/shared/ipc/event-stream';
import type { TradingEvent } from '../../../src/shared/ipc/protocol';
import { silentLogger } from '../../../src/shared/logging/logger';
import { MemoryCursor } from '../../support/ipc';

const ev = (seq: number): TradingEvent => ({
  seq,
  ts: 0,
  type: 'order.filled',
  summary: `#${seq}`,
  data: {},
});
const answer = (over: { lastSeq?: number; missed?: number; streamReset?: boolean } = {}) => ({
  lastSeq: over.lastSeq ?? 0,
  replayed: 0,
  missed: over.missed ?? 0,
  streamReset: over.streamReset ?? false,
});

function stream(cursor = new MemoryCursor()) {
  const emitted: number[] = [];
  return { s: new EventStream(cursor, (e) => emitted.push(e.seq), silentLogger()), emitted, cursor };
}

describe('ipc/EventStream', () => {
  it('subscribes from the durable cursor and holds the replay until the link is reported up', () => {
    const { s, emitted } = stream(new MemoryCursor(7));
    expect(s.resumeFrom()).to.equal(7);
    s.receive(ev(8));
    s.receive(ev(9));
    expect(s.resumed(7, answer({ lastSeq: 9 }))).to.deep.equal([]);
    expect(emitted).to.deep.equal([]);
    s.goLive();
    s.receive(ev(10));
    expect(emitted).to.deep.equal([8, 9, 10]);
  });

  it('never emits a seq twice in one process, whatever a reconnect replays', () => {
    const { s, emitted } = stream();
    s.resumeFrom();
    s.resumed(0, answer());
    s.goLive();
    for (const seq of [1, 2, 3]) s.receive(ev(seq));
    s.linkLost();
    s.resumeFrom(); // the cursor was never saved: the server replays from 0
    for (const seq of [1, 2, 3, 4]) s.receive(ev(seq));
    s.resumed(0, answer());
    s.goLive();
    expect(emitted).to.deep.equal([1, 2, 3, 4]);
  });

  it('a lost link drops what was held: the next subscribe brings it again', () => {
    const { s, emitted } = stream();
    s.resumeFrom();
    s.receive(ev(1));
    s.linkLost();
    s.resumeFrom();
    s.receive(ev(1));
    s.resumed(0, answer());
    s.goLive();
    expect(emitted).to.deep.equal([1]);
  });

  it('says how many events were trimmed before it could read them (missed)', () => {
    const { s } = stream(new MemoryCursor(2));
    s.resumeFrom();
    expect(s.resumed(2, answer({ missed: 13, lastSeq: 20 }))).to.deep.equal([
      ['missed', { count: 13, afterSeq: 2 }],
    ]);
  });

  it("after trading lost its log (cursor ahead) the floor drops to 0 and the new stream's seqs are delivered", () => {
    const { s, emitted } = stream(new MemoryCursor(40));
    s.resumeFrom();
    s.resumed(0, answer());
    s.goLive();
    s.receive(ev(40));
    s.linkLost();
    s.resumeFrom();
    expect(s.resumed(40, answer({ lastSeq: 3, streamReset: true }))).to.deep.equal([
      ['streamReset', { afterSeq: 40, lastSeq: 3 }],
    ]);
    s.goLive();
    for (const seq of [1, 2, 3]) s.receive(ev(seq));
    expect(emitted).to.deep.equal([40, 1, 2, 3]);
  });

  it('acks save in order, never backwards, and one failed save does not block later ones', async () => {
    const saved: number[] = [];
    let failNext = false;
    const s = new EventStream(
      {
        load: () => 0,
        save: async (seq) => {
          if (failNext) {
            failNext = false;
            throw new Error('disk full');
          }
          saved.push(seq);
        },
      },
      () => undefined,
      silentLogger(),
    );
    await s.ack(2);
    await s.ack(1);
    failNext = true;
    const failed = await s.ack(3).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).to.have.property('message', 'disk full');
    await s.ack(4);
    await s.settled();
    expect(saved).to.deep.equal([2, 4]);
  });

  it('property: over any run of live events, lost links and overlapping replays, each seq is emitted once, in order, none skipped', () => {
    // an action: a live event (the next seq), a reconnect that replays from some earlier seq, or a lost link
    const action = fc.oneof(
      fc.constant({ kind: 'event' as const }),
      fc.record({ kind: fc.constant('reconnect' as const), back: fc.nat({ max: 10 }) }),
      fc.constant({ kind: 'lost' as const }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 80 }), (actions) => {
        const { s, emitted } = stream();
        s.resumeFrom();
        s.resumed(0, answer());
        s.goLive();
        let last = 0;
        let live = true;
        for (const a of actions) {
          if (a.kind === 'event' && live) s.receive(ev(++last));
          else if (a.kind === 'lost') {
            s.linkLost();
            live = false;
          } else if (a.kind === 'reconnect') {
            const from = Math.max(0, last - a.back);
            s.resumeFrom();
            for (let seq = from + 1; seq <= last; seq++) s.receive(ev(seq)); // the server's replay
            s.resumed(from, answer({ lastSeq: last }));
            s.goLive();
            live = true;
          }
        }
        for (let i = 1; i < emitted.length; i++) expect(emitted[i]).to.be.greaterThan(emitted[i - 1]);
        // every seq published is emitted once a reconnect replayed it (or it came live)
        expect(emitted).to.deep.equal(Array.from({ length: emitted.length }, (_, i) => i + 1));
      }),
    );
  });
});
