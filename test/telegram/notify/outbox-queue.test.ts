import { expect } from 'chai';
import fc from 'fast-check';
import {
  admit,
  emptyOutboxState,
  renderEntry,
  sendOrder,
  truncateHtml,
} from '../../../src/telegram/notify/outbox-queue';
import type { Priority } from '../../../src/telegram/notify/notification';
import { formatSpan } from '../../../src/shared/format-span';

const settings = { maxSize: 100, coalesceWindowMs: 120_000 };
const t0 = 1_700_000_000_000;
const n = (over: Partial<Parameters<typeof admit>[1]> = {}) => ({
  key: 'crash:trading',
  priority: 'high' as Priority,
  text: 'trading crashed, exit code 1',
  createdAt: t0,
  chatId: '42',
  ...over,
});

describe('outbox queue rules', () => {
  it('coalesces unsent repeats of a key inside the window into one message that counts them', () => {
    const s = emptyOutboxState();
    for (let i = 0; i < 5; i++)
      admit(s, n({ createdAt: t0 + i * 30_000, text: `trading crashed, exit code ${i}` }), settings);
    expect(s.entries).to.have.length(1);
    const text = renderEntry(s.entries[0], 0);
    expect(text).to.contain('trading crashed, exit code 4');
    expect(text).to.contain('×5 in 2 min');
  });

  it('does not coalesce outside the window, across chats, or into an entry being sent', () => {
    const s = emptyOutboxState();
    admit(s, n(), settings);
    admit(s, n({ createdAt: t0 + 120_001 }), settings);
    expect(s.entries).to.have.length(2);
    admit(s, n({ chatId: '43' }), settings);
    expect(s.entries).to.have.length(3);

    const t = emptyOutboxState();
    const first = admit(t, n(), settings);
    const busy = new Set([first.kind === 'added' ? first.id : -1]);
    expect(admit(t, n({ createdAt: t0 + 1 }), settings, busy).kind).to.equal('added');
    expect(t.entries.map((e) => e.count)).to.deep.equal([1, 1]);
  });

  it('never merges notifications that carry a trading event (each recovery summary is delivered)', () => {
    const s = emptyOutboxState();
    admit(s, n({ key: 'online:trading', text: 'back online · restored 3 orders', eventSeq: 10 }), settings);
    admit(
      s,
      n({
        key: 'online:trading',
        createdAt: t0 + 1_000,
        text: 'back online · restored 4 orders',
        eventSeq: 11,
      }),
      settings,
    );
    expect(s.entries.map((e) => e.text)).to.deep.equal([
      'back online · restored 3 orders',
      'back online · restored 4 orders',
    ]);
  });

  it('drops a replayed trading event it has admitted, remembering the last outbox.rememberedEventSeqs seqs', () => {
    const s = emptyOutboxState();
    const few = { ...settings, rememberedEventSeqs: 3 };
    const event = (seq: number) => n({ key: `event:${seq}`, text: `event ${seq}`, eventSeq: seq });
    for (let seq = 1; seq <= 5; seq++) expect(admit(s, event(seq), few).kind).to.equal('added');
    expect(s.seenEventSeqs).to.deep.equal([3, 4, 5]);
    expect(admit(s, event(5), few).kind).to.equal('duplicate-event');
    expect(admit(s, event(1), few).kind, 'forgotten beyond the limit').to.equal('added');
    // the default remembers 5,000
    const d = emptyOutboxState();
    for (let seq = 1; seq <= 5_001; seq++) admit(d, event(seq), settings);
    expect(d.seenEventSeqs).to.have.length(5_000);
    expect(d.seenEventSeqs[0]).to.equal(2);
  });

  it('keeps the highest priority of the merged repeats', () => {
    const s = emptyOutboxState();
    admit(s, n({ priority: 'normal' }), settings);
    admit(s, n({ priority: 'critical', createdAt: t0 + 1 }), settings);
    expect(s.entries[0].priority).to.equal('critical');
  });

  it('ignores a trading event whose seq was already admitted', () => {
    const s = emptyOutboxState();
    expect(admit(s, n({ key: 'event:7', eventSeq: 7 }), settings).kind).to.equal('added');
    expect(admit(s, n({ key: 'event:7', eventSeq: 7 }), settings).kind).to.equal('duplicate-event');
    expect(s.entries).to.have.length(1);
  });

  it('when full drops the lowest-priority oldest first and counts them for the next message', () => {
    const s = emptyOutboxState();
    const small = { maxSize: 3, coalesceWindowMs: 1 };
    admit(s, n({ key: 'a', priority: 'low' }), small);
    admit(s, n({ key: 'b', priority: 'critical' }), small);
    admit(s, n({ key: 'c', priority: 'low' }), small);
    const r = admit(s, n({ key: 'd', priority: 'normal' }), small);
    expect(r).to.deep.include({ kind: 'added', dropped: 1 });
    expect(s.entries.map((e) => e.key)).to.deep.equal(['b', 'c', 'd']);
    admit(s, n({ key: 'e', priority: 'high' }), small);
    expect(s.entries.map((e) => e.key)).to.deep.equal(['b', 'd', 'e']);
    expect(s.dropped).to.equal(2);
    expect(renderEntry(s.entries[0], s.dropped)).to.contain('2 notifications dropped');
  });

  it('never exceeds the bound and never drops a critical while a lower priority is queued (property)', () => {
    const prio = fc.constantFrom<Priority>('critical', 'high', 'normal', 'low');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 3 }), prio), { maxLength: 60 }),
        fc.integer({ min: 1, max: 10 }),
        (items, max) => {
          const s = emptyOutboxState();
          let admitted = 0;
          items.forEach(([key, priority], i) => {
            const r = admit(s, n({ key, priority, createdAt: t0 + i }), {
              maxSize: max,
              coalesceWindowMs: 0,
            });
            if (r.kind === 'added') admitted += 1;
            else if (r.kind === 'coalesced') admitted += 1;
          });
          expect(s.entries.length).to.be.at.most(max);
          const kept = s.entries.reduce((a, e) => a + e.count, 0);
          expect(kept + s.dropped).to.equal(admitted);
          const criticalsIn = items.filter(([, p]) => p === 'critical').length;
          const criticalsKept = s.entries
            .filter((e) => e.priority === 'critical')
            .reduce((a, e) => a + e.count, 0);
          if (criticalsIn <= max) expect(criticalsKept).to.equal(criticalsIn);
        },
      ),
    );
  });

  it('sends by priority, then oldest first', () => {
    const s = emptyOutboxState();
    admit(s, n({ key: 'a', priority: 'low' }), settings);
    admit(s, n({ key: 'b', priority: 'high' }), settings);
    admit(s, n({ key: 'c', priority: 'critical' }), settings);
    admit(s, n({ key: 'd', priority: 'high' }), settings);
    expect(sendOrder(s.entries).map((e) => e.key)).to.deep.equal(['c', 'b', 'd', 'a']);
  });

  it('formats spans and keeps long HTML under the Telegram limit with tags closed', () => {
    expect(formatSpan(42_000)).to.equal('42 s');
    expect(formatSpan(120_000)).to.equal('2 min');
    expect(formatSpan(3_900_000)).to.equal('1 h 5 min');
    const long = '<b>' + 'x&amp;'.repeat(2000) + '</b>';
    const cut = truncateHtml(long, 4000);
    expect(cut.length).to.be.at.most(4000);
    expect(cut.endsWith('…</b>')).to.equal(true);
    expect(cut).to.not.match(/&[a-z]*…/);
  });
});
