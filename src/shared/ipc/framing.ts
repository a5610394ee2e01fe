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
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      const pieceLength = nl - start;
      if (this.buffered + pieceLength > this.maxFrameBytes + 1) return this.overflow(lines);
      const line = this.takeLine(chunk.subarray(start, nl));
      // A trailing CR (CRLF senders) is allowed one extra byte above the limit.
      const bytes =
        line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.subarray(0, -1) : line;
      if (bytes.length > this.maxFrameBytes) return this.overflow(lines);
      if (bytes.length > 0) lines.push(bytes.toString('utf8'));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.buffered + rest.length > this.maxFrameBytes + 1) return this.overflow(lines);
      // Copy: the socket may reuse the chunk's memory, and a small slice would pin a large pooled buffer.
      this.parts.push(Buffer.from(rest));
      this.buffered += rest.length;
    }
    return { lines, tooLarge: false };
  }

  private takeLine(tail: Buffer): Buffer {
    if (this.parts.length === 0) return tail;
    const line = Buffer.concat([...this.parts, tail]);
    this.parts = [];
    this.buffered = 0;
    return line;
  }

  private overflow(lines: string[]): DecodeResult {
    this.dead = true;
    this.parts = [];
    this.buffered = 0;
    return { lines, tooLarge: true };
  }
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

/** The frame of an `event` notification around an event's JSON (`JSON.stringify(event)`). */
export function encodeEventFrame(eventJson: string): string {
  return EVENT_FRAME_HEAD + eventJson + EVENT_FRAME_TAIL + '\n';
}

/**
 * The event in a decoded line that has the exact shape `encodeEventFrame` writes, parsed without the envelope;
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
