import { expect } from 'chai';
import type { TradingEvent } from '../../../src/shared/ipc/protocol';
import { ReplayWindow } from '../../../src/shared/ipc/replay-window';

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
    const w = new ReplayWindow(4);
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
    const w = new ReplayWindow(10);
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

  it('serialises an event read back at open once, when its JSON is first asked for', () => {
    const w = new ReplayWindow(10);
    const e = event(7, { i: 1 });
    w.addParsed(e);
    expect(w.eventsAfter(0, 10)[0]).to.equal(e); // the object itself, nothing parsed
    const { json } = w.jsonAfter(0, 10);
    expect(json).to.deep.equal([JSON.stringify(e)]);
    expect(w.jsonAfter(0, 10).json[0]).to.equal(json[0]);
    expect(w.eventsAfter(0, 10)).to.deep.equal([e]);
  });

  it('finds and counts by seq across gaps (a failed append leaves a seq unused)', () => {
    const w = new ReplayWindow(10);
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
    const w = new ReplayWindow(2);
    w.addParsed(event(1, { eventKey: 'read-back' }));
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
    const w = new ReplayWindow(3);
    expect([w.size, w.lastSeq, w.oldestSeq, w.countAfter(0)]).to.deep.equal([0, 0, null, 0]);
    expect(w.jsonAfter(5, 10)).to.deep.equal({ json: [], lastSeq: 5 });
  });
});
