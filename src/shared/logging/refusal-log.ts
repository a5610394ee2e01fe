/**
 * Rate limit for "refused" log lines (IPC connections refused, Telegram strangers ignored): at most one line per
 * key (peer address, chat id) per `intervalMs`, the next one carrying how many were suppressed meanwhile, so a
 * flood of refusals cannot flood the log. Pure: `now` comes in as an argument; keys are bounded (oldest
 * forgotten first).
 */
export interface RefusalVerdict {
  /** Write a line now. */
  log: boolean;
  /** Refusals of this key not logged since its last line (to put in this line). */
  suppressed: number;
}

export class RefusalLog {
  private readonly seen = new Map<string, { lastLoggedAt: number; suppressed: number }>();

  constructor(
    /** Minimum time between two lines about the same key (default 60 s). */
    private readonly intervalMs = 60_000,
    /** Keys remembered; beyond it the oldest is forgotten (default 1000). */
    private readonly maxKeys = 1000,
  ) {}

  /** Keys remembered right now (bounded by maxKeys). */
  get size(): number {
    return this.seen.size;
  }

  record(key: string, now: number): RefusalVerdict {
    const seen = this.seen.get(key);
    if (seen && now - seen.lastLoggedAt < this.intervalMs) {
      seen.suppressed += 1;
      return { log: false, suppressed: seen.suppressed };
    }
    const suppressed = seen?.suppressed ?? 0;
    this.seen.delete(key);
    this.seen.set(key, { lastLoggedAt: now, suppressed: 0 });
    if (this.seen.size > this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    return { log: true, suppressed };
  }
}
