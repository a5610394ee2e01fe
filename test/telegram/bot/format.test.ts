import { expect } from 'chai';
import fc from 'fast-check';
import { escapeHtml, splitMessage, TELEGRAM_MAX_MESSAGE } from '../../../src/telegram/bot/format';

/** Every formatting tag opened in a part is closed in that same part, in order. */
function balanced(html: string): boolean {
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)(b|i|code|pre)>/g)) {
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]!);
  }
  return stack.length === 0;
}

describe('bot format', () => {
  it('escapes &, < and > so user text cannot inject HTML', () => {
    expect(escapeHtml('a<b>&c</b> > "q"')).to.equal('a&lt;b&gt;&amp;c&lt;/b&gt; &gt; "q"');
  });

  it('keeps a short message whole', () => {
    expect(splitMessage('hello\nworld')).to.deep.equal(['hello\nworld']);
  });

  it('splits long output on line boundaries, every part at most 4096 characters', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(30)}`);
    const parts = splitMessage(lines.join('\n'));
    expect(parts.length).to.be.greaterThan(1);
    for (const p of parts) expect(p.length).to.be.at.most(TELEGRAM_MAX_MESSAGE);
    // no line was cut: every part is made of whole lines, in order
    expect(parts.join('\n').split('\n')).to.deep.equal(lines);
  });

  it('closes and reopens a <pre> block cut between parts', () => {
    const body = Array.from({ length: 300 }, (_, i) => escapeHtml(`log <${i}> ${'y'.repeat(20)}`)).join('\n');
    const parts = splitMessage(`<b>title</b>\n<pre>${body}</pre>`);
    expect(parts.length).to.be.greaterThan(1);
    for (const p of parts) {
      expect(p.length).to.be.at.most(TELEGRAM_MAX_MESSAGE);
      expect(balanced(p), p.slice(0, 80)).to.equal(true);
    }
    expect(parts[1]!.startsWith('<pre>')).to.equal(true);
  });

  it('hard-splits a single over-long line without cutting an entity', () => {
    const line = '&amp;'.repeat(2000); // 10 000 characters, no newline
    const parts = splitMessage(line);
    for (const p of parts) {
      expect(p.length).to.be.at.most(TELEGRAM_MAX_MESSAGE);
      expect(p.replace(/&amp;/g, '')).to.equal('');
    }
    expect(parts.join('')).to.equal(line);
  });

  it('never produces a part over the limit and loses no text (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 300 }), { maxLength: 80 }),
        fc.integer({ min: 100, max: 4096 }),
        (raw, max) => {
          const text = raw.map(escapeHtml).join('\n');
          const parts = splitMessage(text, max);
          for (const p of parts) expect(p.length).to.be.at.most(max);
          const strip = (s: string): string => s.replace(/\s/g, '');
          expect(strip(parts.join(''))).to.equal(strip(text));
        },
      ),
      { numRuns: 200 },
    );
  });
});
