/**
 * Newline-delimited JSON framing. One JSON value per line; `JSON.stringify` never emits a raw newline, so a
 * message can never be split by its own content.
 *
 * The decoder is bounded: it never holds more than `maxFrameBytes` of an unfinished line (plus the chunk being
 * scanned), so a peer that streams endless bytes without a newline costs at most that much memory before it
 * is reported as `tooLarge` and the connection is dropped by the caller.
 */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Default longest accepted line, in bytes (the newline not counted). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export interface DecodeResult {
  /** Complete lines, in order, UTF-8 decoded, without the newline (and without a trailing CR). Empty lines are skipped. */
  lines: string[];
  /** A line longer than maxFrameBytes was seen: everything from it on is discarded and the decoder is dead. */
  tooLarge: boolean;
}

export class LineDecoder {
  private parts: Buffer[] = [];
  private buffered = 0;
  private dead = false;

  constructor(private readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
    }
  }

  /** Bytes of the unfinished line held right now (for tests and metrics). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): DecodeResult {
    const lines: string[] = [];
    if (this.dead) return { lines, tooLarge: true };
    let start = 0;
    let nl = chunk.indexOf(NEWLINE);
    if (nl !== -1 && this.parts.length > 0) {
      // the first newline ends the line held from earlier chunks
      if (this.buffered + nl > this.maxFrameBytes + 1) return this.overflow(lines);
      const line = Buffer.concat([...this.parts, chunk.subarray(0, nl)]);
      this.parts = [];
      this.buffered = 0;
      if (!this.withinLimit(line, 0, line.length)) return this.overflow(lines);
      pushLine(lines, line.toString('utf8'));
      start = nl + 1;
      nl = chunk.indexOf(NEWLINE, start);
    }
    // The other complete lines are checked one by one but decoded together: one string for all of them, split
    // on '\n' (a byte that is never part of a multi-byte UTF-8 sequence), instead of a Buffer and a decode per line.
    const first = start;
    let end = start;
    for (; nl !== -1; nl = chunk.indexOf(NEWLINE, end)) {
      if (!this.withinLimit(chunk, end, nl)) {
        decodeLines(lines, chunk, first, end);
        return this.overflow(lines);
      }
      end = nl + 1;
    }
    decodeLines(lines, chunk, first, end);
    start = end;
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.buffered + rest.length > this.maxFrameBytes + 1) return this.overflow(lines);
      // Copy: the socket may reuse the chunk's memory, and a small slice would pin a large pooled buffer.
      this.parts.push(Buffer.from(rest));
      this.buffered += rest.length;
    }
    return { lines, tooLarge: false };
  }

  /** The line `buf[from, to)` (its newline not included) is at most maxFrameBytes, a trailing CR not counted. */
  private withinLimit(buf: Buffer, from: number, to: number): boolean {
    const length = to - from;
    return (
      length <= this.maxFrameBytes || (length === this.maxFrameBytes + 1 && buf[to - 1] === CARRIAGE_RETURN)
    );
  }

  private overflow(lines: string[]): DecodeResult {
    this.dead = true;
    this.parts = [];
    this.buffered = 0;
    return { lines, tooLarge: true };
  }
}

/** The lines of `buf[from, to)`, which ends with a newline, decoded at once; a trailing CR dropped, empty ones skipped. */
function decodeLines(lines: string[], buf: Buffer, from: number, to: number): void {
  if (to <= from) return;
  const text = buf.toString('utf8', from, to - 1);
  for (const line of text.split('\n')) pushLine(lines, line);
}

function pushLine(lines: string[], line: string): void {
  const text = line.charCodeAt(line.length - 1) === CARRIAGE_RETURN ? line.slice(0, -1) : line;
  if (text.length > 0) lines.push(text);
}

/** One message as a frame: compact JSON and a newline. */
export function encodeFrame(message: unknown): string {
  return JSON.stringify(message) + '\n';
}

/**
 * The start of an event notification frame: `encodeFrame(createJSONRPCNotification('event', event))` is this, the
 * event's JSON and `}\n` (a test holds the two equal). The server embeds the JSON the event log serialised once;
 * the client parses only the event inside it.
 */
export const EVENT_FRAME_HEAD = '{"jsonrpc":"2.0","method":"event","params":';
const EVENT_FRAME_TAIL = '}';

const EVENT_FRAME_SEPARATOR = EVENT_FRAME_TAIL + '\n' + EVENT_FRAME_HEAD;

/**
 * The frames of `event` notifications, one after another, around events' JSON (`JSON.stringify(event)` each): one
 * native join for a batch, not a concatenation per event.
 */
export function encodeEventFrames(eventJsons: readonly string[]): string {
  if (eventJsons.length === 0) return '';
  return EVENT_FRAME_HEAD + eventJsons.join(EVENT_FRAME_SEPARATOR) + EVENT_FRAME_TAIL + '\n';
}

/**
 * The event in a decoded line that has the exact shape `encodeEventFrames` writes, parsed without the envelope;
 * `undefined` for any other line (responses, or anything the full parse must judge). When the part between head
 * and tail is valid JSON, the whole line is exactly the notification `{jsonrpc, method: 'event', params}`.
 */
export function parseEventFrame(line: string): unknown {
  if (!line.startsWith(EVENT_FRAME_HEAD) || !line.endsWith(EVENT_FRAME_TAIL)) return undefined;
  try {
    return JSON.parse(line.slice(EVENT_FRAME_HEAD.length, -EVENT_FRAME_TAIL.length));
  } catch {
    return undefined;
  }
}
