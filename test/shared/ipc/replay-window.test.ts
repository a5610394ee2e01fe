import { expect } from 'chai';
import type { TradingEvent } from '../../../src/shared/ipc/protocol';
import { validateTradingEvent } from '../../../src/shared/ipc/event-schema';
import { ReplayWindow } from '../../../src/shared/ipc/replay-window';

const makeWindow = (retention: number, onInvalid?: (seq: number) => void): ReplayWindow =>
  new ReplayWindow(retention, { check: validateTradingEvent, onInvalid });

/** Lines as the journal holds them (each ending with a newline). */
const text = (...values: unknown[]): string => values.map((v) => JSON.stringify(v) + '\n').join('');

function event(seq: number, data: Record<string, unknown> = {}): TradingEvent {
  return { seq, ts: 1_000 + seq, type: 'order.placed', summary: `o${seq}`, data };
}

/** One group commit of `events`, as the event log adds it. */
function addPublished(w: ReplayWindow, ...events: TradingEvent[]): void {
  const lines = events.map((e) => JSON.stringify(e));
  w.addBlock(lines.join('\n') + '\n', events, lines);
}

describe('ipc/ReplayWindow', () => {
  it('keeps the last `retention` events through many trims (the start index and the array cut agree)', () => {
    const w = makeWindow(4);
    for (let seq = 1; seq <= 23; seq++) {
      addPublished(w, event(seq));
      w.trim();
      const kept = w.eventsAfter(0, Infinity).map((e) => e.seq);
      const expected = Array.from({ length: Math.min(seq, 4) }, (_, i) => Math.max(1, seq - 3) + i);
      expect(kept, `after ${seq}`).to.deep.equal(expected);
      expect(w.size).to.equal(expected.length);
      expect(w.oldestSeq).to.equal(expected[0]);
      expect(w.lastSeq).to.equal(seq);
    }
  });

  it('hands out the events of group commits as their JSON lines and parses them back on demand', () => {
    const w = makeWindow(10);
    const first = [event(1, { note: 'a\nb "q"', n: 0.1 }), event(2, { s: 'é€😀' }), event(3)];
    const second = [event(4, { x: [1, { y: null }] })];
    addPublished(w, ...first);
    addPublished(w, ...second);
    const all = [...first, ...second];
    expect(w.jsonAfter(0, 10)).to.deep.equal({ json: all.map((e) => JSON.stringify(e)), lastSeq: 4 });
    expect(w.jsonAfter(1, 2)).to.deep.equal({
      json: [JSON.stringify(all[1]), JSON.stringify(all[2])],
      lastSeq: 3,
    });
    expect(w.eventsAfter(0, 10)).to.deep.equal(all);
  });

  it('keeps the lines read back at open as they are on disk, and checks each against the schema when first handed out', () => {
    const invalid: number[] = [];
    const w = makeWindow(10, (seq) => invalid.push(seq));
    const good = [event(7, { i: 1 }), event(8, { eventKey: 'k8' })];
    const bad = { ...event(9, { eventKey: 'k9' }), type: 'not a type' };
    const last = event(10);
    const disk = text(...good, bad, last);
    expect(w.addReadBack(disk)).to.deep.equal({ kept: 4, unparseable: 0, outOfOrder: 0 });
    // nothing checked yet: seqs are known, the bad line still counts
    expect([w.size, w.lastSeq, w.oldestSeq, w.countAfter(0)]).to.deep.equal([4, 10, 7, 4]);
    expect(invalid).to.deep.equal([]);
    const { json, lastSeq } = w.jsonAfter(0, 10);
    expect(json).to.deep.equal([JSON.stringify(good[0]), JSON.stringify(good[1]), JSON.stringify(last)]);
    expect(lastSeq).to.equal(10);
    expect(invalid).to.deep.equal([9]);
    // said once, left out from then on, its eventKey no longer counts
    expect(w.eventsAfter(0, 10)).to.deep.equal([...good, last]);
    expect(w.hasEventKey('k9')).to.equal(false);
    expect(w.hasEventKey('k8')).to.equal(true);
    expect(invalid).to.deep.equal([9]);
  });

  it('skips read-back lines that are not JSON or have no positive integer seq, and seqs that do not increase', () => {
    const w = makeWindow(10);
    const disk = `${text(event(1))}{torn\n${text({ ...event(2), seq: 'x' }, { ...event(3), seq: 0 }, event(4), event(4), event(2))}`;
    expect(w.addReadBack(disk)).to.deep.equal({ kept: 2, unparseable: 3, outOfOrder: 2 });
    expect(w.eventsAfter(0, 10).map((e) => e.seq)).to.deep.equal([1, 4]);
    expect(w.addReadBack('')).to.deep.equal({ kept: 0, unparseable: 0, outOfOrder: 0 });
  });

  it('finds and counts by seq across gaps (a failed append leaves a seq unused)', () => {
    const w = makeWindow(10);
    addPublished(w, event(3), event(4));
    addPublished(w, event(6), event(9));
    expect(w.countAfter(0)).to.equal(4);
    expect(w.countAfter(4)).to.equal(2);
    expect(w.countAfter(5)).to.equal(2);
    expect(w.countAfter(9)).to.equal(0);
    expect(w.jsonAfter(4, 1).lastSeq).to.equal(6);
    expect(w.jsonAfter(9, 5)).to.deep.equal({ json: [], lastSeq: 9 });
    expect(w.eventsAfter(5, 10).map((e) => e.seq)).to.deep.equal([6, 9]);
  });

  it('knows the eventKey of kept events only, published or read back, and ignores keys that are not strings', () => {
    const w = makeWindow(2);
    w.addReadBack(text(event(1, { eventKey: 'read-back' })));
    addPublished(w, event(2, { eventKey: 'k2' }), event(3, { eventKey: 42 }));
    w.trim();
    expect(w.hasEventKey('read-back')).to.equal(false); // trimmed
    expect(w.hasEventKey('k2')).to.equal(true);
    expect(w.hasEventKey('42')).to.equal(false);
    addPublished(w, event(4, { eventKey: 'k4' }));
    addPublished(w, event(5));
    w.trim();
    expect(w.hasEventKey('k2')).to.equal(false);
    expect(w.hasEventKey('k4')).to.equal(true);
  });

  it('is empty before the first event', () => {
    const w = makeWindow(3);
    expect([w.size, w.lastSeq, w.oldestSeq, w.countAfter(0)]).to.deep.equal([0, 0, null, 0]);
    expect(w.jsonAfter(5, 10)).to.deep.equal({ json: [], lastSeq: 5 });
  });
});
