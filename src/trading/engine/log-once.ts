/**
 * Logs a repeated problem once until it changes or clears (in between at debug level): an exchange that fails for
 * an hour, or a symbol that waits for its order, is one line in the log, not one per tick.
 */
import type { Logger } from '../../shared/logging/logger';

export class OnceLog {
  /** What was last logged under each key. */
  private readonly last = new Map<string, string>();

  constructor(private readonly logger: Logger) {}

  /**
   * Logs `message` unless the last one under `key` was the same; `sameAs` (optional) is what "the same" compares
   * instead of the message and its meta (e.g. a reason without the price it quotes).
   */
  log(
    key: string,
    level: 'info' | 'warn' | 'error',
    message: string,
    meta: Record<string, unknown>,
    opts: { sameAs?: string } = {},
  ): void {
    const text = opts.sameAs ?? `${message} ${JSON.stringify(meta)}`;
    if (this.last.get(key) === text) {
      this.logger.debug(message, meta);
      return;
    }
    this.last.set(key, text);
    this.logger[level](message, meta);
  }

  /** Everything may be logged again (the exchange answers again: its next failure is news). */
  clear(): void {
    this.last.clear();
  }
}
