/**
 * The events an EventLog keeps in memory for replay, oldest first, held as JSON (the journal lines, what every
 * stream sends), not as objects. A group commit is kept as the one string the journal appended (its lines joined),
 * each event as its seq, its place in that string and its `data.eventKey`: while kept, a group of a thousand events
 * is one string to the garbage collector (past 128 KiB one it never copies) instead of the events, their data and
 * their strings, all of them copied by every young-generation collection they live through.
 *
 * The events read back at open are kept the same way: the journal's tail as the one string it was read into. Each
 * line is parsed for its seq and eventKey only; its full schema (`check`) is checked when the event is first handed
 * out, and a line that fails it is left out of every answer from then on (`onInvalid` says which). A start of a
 * daemon whose log holds its whole retention (10,000 events by default) checked every one of them before it could
 * answer, ~5 µs each, for events no subscriber may ever ask for again.
 *
 * Trimming moves a start index and drops the trimmed part of the arrays once it is as long as the retention, so a
 * commit of one event costs O(1) however many are kept.
 */
import type { TradingEvent } from './protocol';

/** Whether a kept event's line was checked against the schema. */
const UNCHECKED = 0;
const VALID = 1;
const INVALID = 2;

export interface ReadBack {
  /** Lines kept. */
  kept: number;
  /** Lines that are not JSON, or have no positive integer seq. */
  unparseable: number;
  /** Lines whose seq is not above the one before (left out: seqs only increase). */
  outOfOrder: number;
}

export interface ReplayWindowOptions {
  /** The full schema of an event (throws when a line does not match it). */
  check: (value: unknown) => TradingEvent;
  /** A line read back at open failed `check` when first handed out (it is left out). */
  onInvalid?: (seq: number, err: unknown) => void;
}

export class ReplayWindow {
  private readonly seqs: number[] = [];
  /** The string holding each event's JSON at [starts[i], ends[i]). */
  private readonly blocks: string[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** UNCHECKED (read back at open, not handed out yet), VALID or INVALID. */
  private readonly checks: number[] = [];
  private readonly eventKeys: Array<string | undefined> = [];
  /** Index of the oldest kept event in the arrays above (what is before it is trimmed). */
  private head = 0;

  constructor(
    private readonly retention: number,
    private readonly opts: ReplayWindowOptions,
  ) {}

  get size(): number {
    return this.seqs.length - this.head;
  }

  /** Highest kept seq, or 0 when nothing is kept. */
  get lastSeq(): number {
    return this.size > 0 ? this.seqs[this.seqs.length - 1] : 0;
  }

  /** Oldest kept seq, or null when nothing is kept. */
  get oldestSeq(): number | null {
    return this.size > 0 ? this.seqs[this.head] : null;
  }

  /**
   * The lines read back from the journal at open, oldest first (`text`: whole lines, each ending with a newline),
   * kept as that one string; see the file comment for when each is checked.
   */
  addReadBack(text: string): ReadBack {
    const result: ReadBack = { kept: 0, unparseable: 0, outOfOrder: 0 };
    for (let start = 0; start < text.length;) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      if (end > start) {
        const head = readBackHead(text.slice(start, end));
        if (!head) result.unparseable++;
        else if (head.seq <= this.lastSeq) result.outOfOrder++;
        else {
          this.add(head.seq, text, start, end, UNCHECKED, head.eventKey);
          result.kept++;
        }
      }
      start = end + 1;
    }
    return result;
  }

  /**
   * A committed group: `block` is `lines` joined, each line followed by a newline, and `lines[i]` is
   * `JSON.stringify(events[i])`.
   */
  addBlock(block: string, events: readonly TradingEvent[], lines: readonly string[]): void {
    let start = 0;
    for (let i = 0; i < events.length; i++) {
      const end = start + lines[i].length;
      this.add(events[i].seq, block, start, end, VALID, events[i].data.eventKey);
      start = end + 1;
    }
  }

  /** Drops the oldest events beyond the retention. */
  trim(): void {
    const excess = this.size - this.retention;
    if (excess <= 0) return;
    this.head += excess;
    if (this.head >= this.retention) {
      for (const a of [this.seqs, this.blocks, this.starts, this.ends, this.checks, this.eventKeys]) {
        a.splice(0, this.head);
      }
      this.head = 0;
    }
  }

  /** Whether a kept event carries `data.eventKey === key` (a line that failed its check does not). */
  hasEventKey(key: string): boolean {
    for (let i = this.eventKeys.length - 1; i >= this.head; i--)
      if (this.eventKeys[i] === key && this.jsonAt(i) !== undefined) return true;
    return false;
  }

  /** How many kept events have seq > afterSeq (a line read back at open and not checked yet counts). */
  countAfter(afterSeq: number): number {
    return this.seqs.length - this.indexAfter(afterSeq);
  }

  /** Kept events with seq > afterSeq, oldest first, at most `limit` of them (parsed from their JSON). */
  eventsAfter(afterSeq: number, limit: number): TradingEvent[] {
    const lo = this.indexAfter(afterSeq);
    const hi = Math.min(this.seqs.length, lo + limit);
    const out: TradingEvent[] = [];
    for (let i = lo; i < hi; i++) {
      const json = this.jsonAt(i);
      if (json !== undefined) out.push(JSON.parse(json) as TradingEvent);
    }
    return out;
  }

  /** The JSON of the kept events with seq > afterSeq, at most `limit`, and the seq of the last one. */
  jsonAfter(afterSeq: number, limit: number): { json: string[]; lastSeq: number } {
    const lo = this.indexAfter(afterSeq);
    const hi = Math.min(this.seqs.length, lo + limit);
    const json: string[] = [];
    for (let i = lo; i < hi; i++) {
      const line = this.jsonAt(i);
      if (line !== undefined) json.push(line);
    }
    return { json, lastSeq: hi > lo ? this.seqs[hi - 1] : afterSeq };
  }

  private add(seq: number, block: string, start: number, end: number, check: number, key: unknown): void {
    this.seqs.push(seq);
    this.blocks.push(block);
    this.starts.push(start);
    this.ends.push(end);
    this.checks.push(check);
    this.eventKeys.push(typeof key === 'string' ? key : undefined);
  }

  /** The event's JSON line; undefined for a line read back at open that does not match the schema. */
  private jsonAt(i: number): string | undefined {
    const check = this.checks[i];
    if (check === INVALID) return undefined;
    const json = this.blocks[i].slice(this.starts[i], this.ends[i]);
    if (check === VALID) return json;
    try {
      this.opts.check(JSON.parse(json));
      this.checks[i] = VALID;
      return json;
    } catch (err) {
      this.checks[i] = INVALID;
      this.opts.onInvalid?.(this.seqs[i], err);
      return undefined;
    }
  }

  /** Array index of the first kept event with seq > afterSeq (seqs increase, with gaps where an append failed). */
  private indexAfter(afterSeq: number): number {
    let lo = this.head;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid] <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A read-back line's seq (a positive integer) and eventKey, or undefined when it is not JSON or has no seq. */
function readBackHead(line: string): { seq: number; eventKey: unknown } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { seq, data } = value as { seq?: unknown; data?: unknown };
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) return undefined;
  const eventKey =
    data !== null && typeof data === 'object' ? (data as { eventKey?: unknown }).eventKey : undefined;
  return { seq, eventKey };
}
