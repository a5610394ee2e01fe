/**
 * Stop 34 (fix34t): the alerts that went to the log only while Telegram refused a chat, and the digest that chat
 * gets once it takes messages again — the pure rules (log-digest.ts). On main nothing kept them: the chat never
 * learned in Telegram what went to `pm2 logs` meanwhile.
 */
import { expect } from 'chai';
import {
  LOG_DIGEST_ITEMS,
  LOG_DIGEST_LINE_CHARS,
  followRecords,
  moveRecord,
  noteLogged,
  renderDigest,
  takeDigest,
  type LogOnlyRecord,
} from '../../../src/telegram/notify/log-digest';
import type { Priority } from '../../../src/telegram/notify/notification';
import {
  MAX_MESSAGE_CHARS,
  emptyOutboxState,
  type OutboxEntry,
} from '../../../src/telegram/notify/outbox-queue';

const t0 = Date.UTC(2026, 11, 5, 0, 30);
let nextId = 1;
const entry = (over: Partial<OutboxEntry> = {}): OutboxEntry => ({
  id: nextId++,
  key: 'k',
  priority: 'normal',
  text: 'an alert',
  silent: false,
  chatId: '42',
  firstAt: t0,
  lastAt: t0,
  count: 1,
  attempts: 0,
  ...over,
});

describe('log-only records and their digest (pure)', () => {
  it("notes each chat's alerts in that chat's own record: count, since, first line", () => {
    const records: LogOnlyRecord[] = [];
    noteLogged(records, entry({ text: '💥 <b>trading crashed</b>\nexit code 1', firstAt: t0, lastAt: t0 }));
    noteLogged(records, entry({ chatId: '777', text: 'restart confirmed' }));
    noteLogged(records, entry({ text: 'order filled', firstAt: t0 + 60_000, lastAt: t0 + 90_000, count: 3 }));
    expect(records.map((r) => [r.chatId, r.count, r.since])).to.deep.equal([
      ['42', 4, t0],
      ['777', 1, t0],
    ]);
    expect(records[0].alerts.map((a) => [a.line, a.count, a.at])).to.deep.equal([
      ['💥 trading crashed', 1, t0],
      ['order filled', 3, t0 + 90_000],
    ]);
  });

  it(`stays bounded: at most ${LOG_DIGEST_ITEMS} alerts listed, the most important then the newest kept; all counted`, () => {
    const records: LogOnlyRecord[] = [];
    noteLogged(records, entry({ priority: 'critical', text: 'trading crashed', lastAt: t0 }));
    for (let i = 1; i <= 500; i++)
      noteLogged(records, entry({ priority: 'low', text: `order placed #${i}`, lastAt: t0 + i * 1000 }));
    noteLogged(records, entry({ text: 'x'.repeat(10_000), lastAt: t0 + 999_000 }));
    const [r] = records;
    expect(r.count).to.equal(502);
    expect(r.alerts).to.have.length(LOG_DIGEST_ITEMS);
    expect(r.alerts[0].line).to.equal('trading crashed');
    expect(r.alerts.some((a) => a.line === `order placed #500`)).to.equal(true);
    expect(r.alerts.some((a) => a.line === `order placed #1`)).to.equal(false);
    expect(Math.max(...r.alerts.map((a) => a.line.length))).to.equal(LOG_DIGEST_LINE_CHARS);
  });

  it('cuts a long first line without leaving half an emoji (Telegram takes UTF-8 text only)', () => {
    const records: LogOnlyRecord[] = [];
    noteLogged(records, entry({ text: 'x' + '💥'.repeat(LOG_DIGEST_LINE_CHARS) }));
    const { line } = records[0].alerts[0];
    expect(line.length).to.equal(LOG_DIGEST_LINE_CHARS - 1);
    expect(Buffer.from(line, 'utf8').toString('utf8')).to.equal(line);
  });

  it('renders a count, since when, the most important first, escaped, and "and N more" for what is not listed', () => {
    const records: LogOnlyRecord[] = [];
    noteLogged(records, entry({ priority: 'low', text: 'order placed', lastAt: t0 }));
    noteLogged(
      records,
      entry({ priority: 'high', text: 'stop-loss &lt;BTC/USDT&gt; fired &amp; sold', lastAt: t0 + 60_000 }),
    );
    noteLogged(records, entry({ priority: 'critical', text: '🛑 trading paused', lastAt: t0 + 120_000 }));
    for (let i = 0; i < LOG_DIGEST_ITEMS; i++)
      noteLogged(records, entry({ priority: 'normal', text: `fill ${i}`, lastAt: t0 + 200_000 + i }));
    const html = renderDigest(records[0]);
    const lines = html.split('\n');
    expect(lines[0]).to.equal(
      `📭 <b>${LOG_DIGEST_ITEMS + 3} alerts went to the log only</b> while Telegram refused the bot (since 2026-12-05 00:30 UTC):`,
    );
    expect(lines[1]).to.equal('• 12-05 00:32 🛑 trading paused');
    expect(lines[2]).to.equal('• 12-05 00:31 stop-loss &lt;BTC/USDT&gt; fired &amp; sold');
    // the low one and the two oldest normal ones gave way to the bound: counted, not listed
    expect(html).not.to.include('order placed');
    expect(html).not.to.match(/fill [01]\b/);
    expect(html).to.include('fill 2');
    expect(lines.at(-1)).to.equal('…and 3 more: <code>pm2 logs telegram</code>');
  });

  it(`fits one Telegram message (${MAX_MESSAGE_CHARS} characters), the rest counted`, () => {
    const records: LogOnlyRecord[] = [];
    for (let i = 0; i < 100; i++)
      noteLogged(records, entry({ priority: 'high', text: `<b>${'&'.repeat(300)}</b>`, lastAt: t0 + i }));
    const html = renderDigest(records[0]);
    expect(html.length).to.be.at.most(MAX_MESSAGE_CHARS);
    const listed = html.split('\n').filter((l) => l.startsWith('• ')).length;
    expect(listed).to.be.greaterThan(0).and.lessThan(LOG_DIGEST_ITEMS);
    expect(html).to.match(new RegExp(`…and ${100 - listed} more: `));
  });

  it("takes a chat's record into one digest entry for that chat only, of its highest priority; none when none is owed", () => {
    const state = { ...emptyOutboxState(), nextId: 10 };
    noteLogged(state.loggedOnly, entry({ chatId: '42', priority: 'critical', text: 'trading crashed' }));
    noteLogged(state.loggedOnly, entry({ chatId: '777', text: 'restart confirmed' }));
    const digest = takeDigest(state, '42')!;
    expect(digest).to.include({ id: 10, chatId: '42', priority: 'critical', key: 'log-digest:42', count: 1 });
    expect(digest.text).to.include('trading crashed').and.not.include('restart confirmed');
    expect(state.entries).to.deep.equal([digest]);
    expect(state.loggedOnly.map((r) => r.chatId)).to.deep.equal(['777']);
    expect(takeDigest(state, '42')).to.equal(undefined);
    expect(state.entries).to.have.length(1);
  });

  it('a digest that goes to the log itself (the chat refuses again) is put back whole, and the next one says it all once', () => {
    const state = emptyOutboxState();
    noteLogged(state.loggedOnly, entry({ priority: 'critical', text: 'trading crashed' }));
    const first = takeDigest(state, '42')!;
    state.entries = [];
    noteLogged(state.loggedOnly, first);
    noteLogged(state.loggedOnly, entry({ text: 'back online', lastAt: t0 + 5_000 }));
    expect(state.loggedOnly).to.have.length(1);
    expect(state.loggedOnly[0].count).to.equal(2);
    const second = takeDigest(state, '42')!;
    expect(second.text).to.include('2 alerts').and.include('trading crashed').and.include('back online');
  });

  it('merges into a digest already waiting for the chat, unless that one is being sent', () => {
    const state = emptyOutboxState();
    noteLogged(state.loggedOnly, entry({ text: 'one' }));
    const waiting = takeDigest(state, '42')!;
    noteLogged(state.loggedOnly, entry({ text: 'two' }));
    expect(takeDigest(state, '42')).to.equal(waiting);
    expect(state.entries).to.have.length(1);
    expect(waiting.text).to.include('2 alerts');
    noteLogged(state.loggedOnly, entry({ text: 'three' }));
    const other = takeDigest(state, '42', new Set([waiting.id]))!;
    expect(other.id).not.to.equal(waiting.id);
    expect(other.text).to.include('1 alert ').and.include('three');
  });

  it("follows a chat Telegram moved: the old id's record joins the new one's", () => {
    const records: LogOnlyRecord[] = [];
    noteLogged(records, entry({ chatId: '-4001', text: 'one', firstAt: t0 - 1 }));
    noteLogged(records, entry({ chatId: '-1004001', text: 'two' }));
    moveRecord(records, '-4001', '-1004001');
    expect(records.map((r) => [r.chatId, r.count, r.since])).to.deep.equal([['-1004001', 2, t0 - 1]]);
  });

  it('review34t: moves every record to where the chat-move book now sends its chat, others stay', () => {
    const records: LogOnlyRecord[] = [];
    noteLogged(records, entry({ chatId: '-4001', text: 'one' }));
    noteLogged(records, entry({ chatId: '-5001', text: 'two' }));
    noteLogged(records, entry({ chatId: '-1005001', text: 'three' }));
    noteLogged(records, entry({ chatId: '42', text: 'four' }));
    const moves: Record<string, string> = { '-4001': '-1004001', '-5001': '-1005001' };
    followRecords(records, (id) => moves[id] ?? id);
    expect(records.map((r) => [r.chatId, r.count]).sort()).to.deep.equal([
      ['-1004001', 1],
      ['-1005001', 2],
      ['42', 1],
    ]);
  });

  it("the alert chat's records follow TELEGRAM_CHAT_ID (a typo fixed); a side chat's stay its own", () => {
    const records: LogOnlyRecord[] = [];
    noteLogged(records, entry({ chatId: '515', text: 'trading crashed' }), true);
    noteLogged(records, entry({ chatId: '777', text: 'restart confirmed' }));
    noteLogged(records, entry({ chatId: '5151', text: 'back online' }), true);
    followRecords(records, (id) => id, '5151');
    expect(records.map((r) => [r.chatId, r.count, r.alertChat ?? false]).sort()).to.deep.equal([
      ['5151', 2, true],
      ['777', 1, false],
    ]);
    // without the alert chat named, only moves apply
    const kept: LogOnlyRecord[] = [];
    noteLogged(kept, entry({ chatId: '515', text: 'trading crashed' }), true);
    followRecords(kept, (id) => id);
    expect(kept.map((r) => r.chatId)).to.deep.equal(['515']);
  });

  it('keeps the priority of what it lists for the digest entry', () => {
    const state = emptyOutboxState();
    for (const p of ['low', 'high'] as Priority[]) noteLogged(state.loggedOnly, entry({ priority: p }));
    expect(takeDigest(state, '42')!.priority).to.equal('high');
  });
});
