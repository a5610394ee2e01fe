/**
 * Rate limit for "refused" log lines (IPC connections refused, Telegram strangers ignored): at most one line per
 * key (peer address, chat id) per `intervalMs`, the next one carrying how many were suppressed meanwhile, and at most
 * `maxLinesPerInterval` lines over all keys (a local process may bind its sockets to any of 127.0.0.0/8's 16 million
 * addresses, each a new peer; strangers come from any number of chats): the refusals past it are counted, and the next
 * line written says how many of other keys went unlogged. So a flood of refusals cannot flood the log. Pure: `now`
 * comes in as an argument; keys are bounded (oldest forgotten first).
 */
export interface RefusalVerdict {
  /** Write a line now. */
  log: boolean;
  /** Refusals of this key not logged since its last line (to put in this line). */
  suppressed: number;
  /** Refusals of other keys not logged since the last line written (the cap over all keys), to put in this line. */
  suppressedOthers: number;
}

export class RefusalLog {
  private readonly seen = new Map<string, { lastLoggedAt: number; suppressed: number }>();
  /** The current window of the cap over all keys: its start and the lines written in it. */
  private windowStart = -Infinity;
  private linesInWindow = 0;
  /** Refusals not logged because of the cap over all keys, since the last line written. */
  private suppressedOthers = 0;

  constructor(
    /** Minimum time between two lines about the same key (default 60 s); also the window of the cap over all keys. */
    private readonly intervalMs = 60_000,
    /** Keys remembered; beyond it the oldest is forgotten (default 1000). */
    private readonly maxKeys = 1000,
    /** Lines over all keys per `intervalMs` (default 10). */
    private readonly maxLinesPerInterval = 10,
  ) {}

  /** Keys remembered right now (bounded by maxKeys). */
  get size(): number {
    return this.seen.size;
  }

  record(key: string, now: number): RefusalVerdict {
    const seen = this.seen.get(key);
    if (seen && now - seen.lastLoggedAt < this.intervalMs) {
      seen.suppressed += 1;
      return { log: false, suppressed: seen.suppressed, suppressedOthers: this.suppressedOthers };
    }
    if (now - this.windowStart >= this.intervalMs) {
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= this.maxLinesPerInterval) {
      // the key is not marked logged: its next refusal, once the window has room, writes its line
      this.suppressedOthers += 1;
      return { log: false, suppressed: seen?.suppressed ?? 0, suppressedOthers: this.suppressedOthers };
    }
    this.linesInWindow += 1;
    const suppressed = seen?.suppressed ?? 0;
    const suppressedOthers = this.suppressedOthers;
    this.suppressedOthers = 0;
    this.seen.delete(key);
    this.seen.set(key, { lastLoggedAt: now, suppressed: 0 });
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    return { log: true, suppressed, suppressedOthers };
  }
}
