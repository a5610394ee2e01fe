/**
 * The events an EventLog keeps in memory for replay, oldest first, held as JSON (the journal lines, what every
 * stream sends), not as objects. A group commit is kept as the one string the journal appended (its lines joined),
 * each event as its seq, its place in that string and its `data.eventKey`: while kept, a group of a thousand events
 * is one string to the garbage collector (past 128 KiB one it never copies) instead of the events, their data and
 * their strings, all of them copied by every young-generation collection they live through. Events read back at
 * open keep their parsed object until their JSON is first asked for.
 *
 * Trimming moves a start index and drops the trimmed part of the arrays once it is as long as the retention, so a
 * commit of one event costs O(1) however many are kept.
 */
import type { TradingEvent } from './protocol';

export class ReplayWindow {
  private readonly seqs: number[] = [];
  /** The string holding each event's JSON at [starts[i], ends[i]); undefined for an event read back at open. */
  private readonly blocks: Array<string | undefined> = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Events read back at open, until their JSON is made (published events never have one here). */
  private readonly parsed: Array<TradingEvent | undefined> = [];
  private readonly eventKeys: Array<string | undefined> = [];
  /** Index of the oldest kept event in the arrays above (what is before it is trimmed). */
  private head = 0;

  constructor(private readonly retention: number) {}

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

  /** An event read back from the journal (its JSON is made the first time a stream asks for it). */
  addParsed(event: TradingEvent): void {
    this.add(event.seq, undefined, 0, 0, event, event.data.eventKey);
  }

  /**
   * A committed group: `block` is `lines` joined, each line followed by a newline, and `lines[i]` is
   * `JSON.stringify(events[i])`.
   */
  addBlock(block: string, events: readonly TradingEvent[], lines: readonly string[]): void {
    let start = 0;
    for (let i = 0; i < events.length; i++) {
      const end = start + lines[i].length;
      this.add(events[i].seq, block, start, end, undefined, events[i].data.eventKey);
      start = end + 1;
    }
  }

  /** Drops the oldest events beyond the retention. */
  trim(): void {
    const excess = this.size - this.retention;
    if (excess <= 0) return;
    this.head += excess;
    if (this.head >= this.retention) {
      for (const a of [this.seqs, this.blocks, this.starts, this.ends, this.parsed, this.eventKeys]) {
        a.splice(0, this.head);
      }
      this.head = 0;
    }
  }

  /** Whether a kept event carries `data.eventKey === key`. */
  hasEventKey(key: string): boolean {
    for (let i = this.eventKeys.length - 1; i >= this.head; i--) if (this.eventKeys[i] === key) return true;
    return false;
  }

  /** How many kept events have seq > afterSeq. */
  countAfter(afterSeq: number): number {
    return this.seqs.length - this.indexAfter(afterSeq);
  }

  /** Kept events with seq > afterSeq, oldest first, at most `limit` of them (parsed from their JSON). */
  eventsAfter(afterSeq: number, limit: number): TradingEvent[] {
    const lo = this.indexAfter(afterSeq);
    const hi = Math.min(this.seqs.length, lo + limit);
    const out: TradingEvent[] = [];
    for (let i = lo; i < hi; i++) out.push(this.parsed[i] ?? (JSON.parse(this.jsonAt(i)) as TradingEvent));
    return out;
  }

  /** The JSON of the kept events with seq > afterSeq, at most `limit`, and the seq of the last one. */
  jsonAfter(afterSeq: number, limit: number): { json: string[]; lastSeq: number } {
    const lo = this.indexAfter(afterSeq);
    const hi = Math.min(this.seqs.length, lo + limit);
    const json: string[] = [];
    for (let i = lo; i < hi; i++) json.push(this.jsonAt(i));
    return { json, lastSeq: hi > lo ? this.seqs[hi - 1] : afterSeq };
  }

  private add(
    seq: number,
    block: string | undefined,
    start: number,
    end: number,
    parsed: TradingEvent | undefined,
    key: unknown,
  ): void {
    this.seqs.push(seq);
    this.blocks.push(block);
    this.starts.push(start);
    this.ends.push(end);
    this.parsed.push(parsed);
    this.eventKeys.push(typeof key === 'string' ? key : undefined);
  }

  private jsonAt(i: number): string {
    const block = this.blocks[i];
    if (block !== undefined) return block.slice(this.starts[i], this.ends[i]);
    const json = JSON.stringify(this.parsed[i]);
    this.blocks[i] = json;
    this.ends[i] = json.length;
    this.parsed[i] = undefined;
    return json;
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
