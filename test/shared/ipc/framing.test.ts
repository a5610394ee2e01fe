import { expect } from 'chai';
import fc from 'fast-check';
import { createJSONRPCNotification } from 'json-rpc-2.0';
import {
  EVENT_FRAME_HEAD,
  encodeEventFrames,
  encodeFrame,
  LineDecoder,
  parseEventFrame,
} from '../../../src/shared/ipc/framing';

/** Cut `buf` at the given (sorted, deduplicated) offsets. */
function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    out.push(buf.subarray(start, p));
    start = p;
  }
  out.push(buf.subarray(start));
  return out;
}

describe('ipc/framing LineDecoder', () => {
  it('yields the same lines however the byte stream is chunked (multi-byte UTF-8 split across chunks included)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')),
          {
            maxLength: 20,
          },
        ),
        fc.array(fc.nat(), { maxLength: 30 }),
        (lines, cuts) => {
          const stream = Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');
          const decoder = new LineDecoder(1024);
          const got: string[] = [];
          for (const chunk of chunked(stream, cuts)) {
            const r = decoder.push(chunk);
            expect(r.tooLarge).to.equal(false);
            got.push(...r.lines);
          }
          expect(got).to.deep.equal(lines.filter((l) => l.length > 0));
          expect(decoder.bufferedBytes).to.equal(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts a line of exactly maxFrameBytes, with or without a trailing CR', () => {
    const decoder = new LineDecoder(10);
    expect(decoder.push(Buffer.from('0123456789\n0123456789\r\n'))).to.deep.equal({
      lines: ['0123456789', '0123456789'],
      tooLarge: false,
    });
  });

  it('reports a line one byte over the limit even when it arrives in small pieces', () => {
    const decoder = new LineDecoder(10);
    let result = decoder.push(Buffer.from('ok\n01234'));
    expect(result).to.deep.equal({ lines: ['ok'], tooLarge: false });
    result = decoder.push(Buffer.from('567890\n'));
    expect(result.tooLarge).to.equal(true);
    // Dead after an overflow: nothing more is parsed from this peer.
    expect(decoder.push(Buffer.from('fine\n')).tooLarge).to.equal(true);
  });

  it('keeps at most maxFrameBytes buffered while a peer streams endless bytes without a newline', () => {
    const max = 4096;
    const decoder = new LineDecoder(max);
    const chunk = Buffer.alloc(1000, 0x61);
    let tooLarge = false;
    for (let i = 0; i < 1000 && !tooLarge; i++) {
      tooLarge = decoder.push(chunk).tooLarge;
      expect(decoder.bufferedBytes).to.be.at.most(max + 1);
    }
    expect(tooLarge).to.equal(true);
    expect(decoder.bufferedBytes).to.equal(0);
  });

  it('returns the complete lines that came before an oversized one in the same chunk', () => {
    const decoder = new LineDecoder(5);
    expect(decoder.push(Buffer.from('a\nbb\n0123456789\nc\n'))).to.deep.equal({
      lines: ['a', 'bb'],
      tooLarge: true,
    });
  });

  it('encodes every message as exactly one line, even strings containing newlines', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const frame = encodeFrame({ v: value, s: 'line1\nline2\r\n' });
        expect(frame.endsWith('\n')).to.equal(true);
        expect(frame.slice(0, -1)).not.to.include('\n');
        expect(JSON.parse(frame)).to.have.property('s', 'line1\nline2\r\n');
      }),
    );
  });
});

describe('ipc event frames', () => {
  it("event frames built from the events' JSON equal the encoded JSON-RPC notifications, one per line", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            seq: fc.nat(),
            ts: fc.nat(),
            type: fc.constant('order.filled'),
            summary: fc.string(),
            data: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.double({ noNaN: true }), fc.boolean())),
          }),
          { maxLength: 5 },
        ),
        (events) => {
          expect(encodeEventFrames(events.map((e) => JSON.stringify(e)))).to.equal(
            events.map((e) => encodeFrame(createJSONRPCNotification('event', e))).join(''),
          );
        },
      ),
    );
  });

  it('parses the event out of an event frame alone, equal to the full parse of the notification', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (params) => {
        const line = encodeFrame(createJSONRPCNotification('event', params)).slice(0, -1);
        expect(parseEventFrame(line)).to.deep.equal(JSON.parse(line).params);
      }),
    );
  });

  it('takes the envelope-free path only when the whole line is that exact notification', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('', '}', ' }', ',"id":1}', '},{'), (inner, tail) => {
        const line = EVENT_FRAME_HEAD + inner + tail;
        const event = parseEventFrame(line);
        if (event === undefined) return;
        expect(JSON.parse(line)).to.deep.equal({ jsonrpc: '2.0', method: 'event', params: event });
      }),
    );
    expect(parseEventFrame(EVENT_FRAME_HEAD + '1,"id":7}')).to.equal(undefined);
    expect(parseEventFrame('{"jsonrpc":"2.0","id":1,"result":{}}')).to.equal(undefined);
    expect(parseEventFrame(EVENT_FRAME_HEAD + '{"seq":1')).to.equal(undefined);
  });
});
