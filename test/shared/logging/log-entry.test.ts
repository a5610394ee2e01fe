import { expect } from 'chai';
import {
  buildEntry,
  consoleLine,
  jsonLine,
  levelEnabled,
  LOG_LEVELS,
} from '../../../src/shared/logging/log-entry';

const TS = '2026-12-02T10:00:00.000Z';

describe('log entries (what a log call becomes)', () => {
  it("a text with fields: the fields beside the text, the service and a child logger's fields too", () => {
    const entry = buildEntry('info', 'Order placed', { symbol: 'BTC/USDT' }, { module: 'orders' }, 'trading');
    expect(entry).to.deep.equal({
      module: 'orders',
      service: 'trading',
      symbol: 'BTC/USDT',
      level: 'info',
      message: 'Order placed',
    });
  });

  it("a call's own fields win over a child's, which never replace the level or the text", () => {
    const entry = buildEntry(
      'warn',
      'x',
      { module: 'mine', level: 'debug', message: undefined },
      { module: 'child' },
      's',
    );
    expect(entry.module).to.equal('mine');
    expect(entry.level).to.equal('warn');
    expect(entry.message).to.equal('x');
  });

  it('an Error as the fields: its message after the text, its stack, cause and own fields kept', () => {
    const cause = new Error('socket hang up');
    const err = Object.assign(new Error('fetch failed', { cause }), { code: 'ECONNRESET' });
    const entry = buildEntry('error', 'Balance read failed', err, {}, 'trading');
    expect(entry.message).to.equal('Balance read failed fetch failed');
    expect(entry.stack).to.equal(err.stack);
    expect(entry.cause).to.equal(cause);
    expect(entry.code).to.equal('ECONNRESET');
  });

  it('an Error as the text: its message, stack, cause and own fields', () => {
    const err = Object.assign(new Error('boom'), { context: { symbol: 'ETH/USDT' } });
    const entry = buildEntry('error', err, undefined, { module: 'loop' }, 'trading');
    expect(entry).to.include({ level: 'error', message: 'boom', module: 'loop', service: 'trading' });
    expect(entry.stack).to.equal(err.stack);
    expect(entry.context).to.deep.equal({ symbol: 'ETH/USDT' });
  });

  it('levels: error < warn < info < debug', () => {
    expect(LOG_LEVELS).to.deep.equal(['error', 'warn', 'info', 'debug']);
    expect(levelEnabled('error', 'info')).to.equal(true);
    expect(levelEnabled('info', 'info')).to.equal(true);
    expect(levelEnabled('debug', 'info')).to.equal(false);
    expect(levelEnabled('warn', 'error')).to.equal(false);
  });

  it('console line: time, level, [module], text, the other fields as JSON; a stack indented below', () => {
    const entry = buildEntry('info', 'Tick', { symbols: 2 }, { module: 'loop' }, 'trading');
    expect(consoleLine(entry, TS)).to.equal(`${TS} info [loop] Tick {"symbols":2}`);
    expect(consoleLine(buildEntry('info', 'Plain', undefined, {}, 'trading'), TS)).to.equal(
      `${TS} info Plain`,
    );
    const err = new Error('bad');
    err.stack = 'Error: bad\nat f (x.js:1:1)\n    at g (y.js:2:2)';
    const line = consoleLine(buildEntry('error', err, undefined, {}, 's'), TS);
    expect(line.split('\n')).to.deep.equal([
      `${TS} error bad`,
      '    Error: bad',
      '    at f (x.js:1:1)',
      '    at g (y.js:2:2)',
    ]);
  });

  it('console line: no text from outside can start or redraw a line (CR, LF, ANSI escapes, NEL, U+2028, a stack)', () => {
    const outside = 'pause\r\n2026-01-01T00:00:00.000Z error FORGED\u001b[2K\u001b[1G\u0085\u2028x\u007f\ty';
    const line = consoleLine(buildEntry('info', outside, undefined, {}, 's'), TS);
    expect(line).to.equal(
      `${TS} info pause\\r\\n2026-01-01T00:00:00.000Z error FORGED\\u001b[2K\\u001b[1G\\u0085\\u2028x\\u007f\ty`,
    );
    // an error without a name: its stack starts with the outside text, indented like every other stack line
    const err = new Error('2026-01-01T00:00:00.000Z error FORGED');
    err.name = '';
    err.stack = '2026-01-01T00:00:00.000Z error FORGED\u001b[2K\n    at f (x.js:1:1)';
    const lines = consoleLine(buildEntry('error', 'failed', { stack: err.stack }, {}, 's'), TS).split('\n');
    expect(lines.slice(1)).to.deep.equal([
      '    2026-01-01T00:00:00.000Z error FORGED\\u001b[2K',
      '    at f (x.js:1:1)',
    ]);
  });

  it('JSON line: one object, the time first; a BigInt as its digits; a field JSON cannot write does not lose the line', () => {
    const entry = buildEntry('info', 'n', { big: 12345678901234567890n }, {}, 's');
    const parsed = JSON.parse(jsonLine(entry, TS)) as Record<string, unknown>;
    expect(Object.keys(parsed)[0]).to.equal('timestamp');
    expect(parsed).to.include({ timestamp: TS, level: 'info', message: 'n', big: '12345678901234567890' });
    const throwing = buildEntry(
      'info',
      'h',
      {
        v: {
          toJSON: () => {
            throw new Error('no json');
          },
        },
      },
      {},
      's',
    );
    // the error's own text is not written: the redactor never saw it
    expect(JSON.parse(jsonLine(throwing, TS))).to.deep.equal({
      timestamp: TS,
      level: 'info',
      message: 'h',
      unserializable: 'a field could not be written as JSON',
    });
    expect(consoleLine(throwing, TS)).to.equal(
      `${TS} info h {"unserializable":"a field could not be written as JSON"}`,
    );
  });
});
