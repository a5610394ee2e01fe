/**
 * Test-only fault triggers. Installed ONLY when `config.app.testHooks` is true (env BYNINJA_TEST_HOOKS=1), which
 * nothing in a normal run sets (not the ecosystem file, not .env.example, default false): in production these
 * signals keep Node's default behaviour.
 *
 *   SIGUSR2 → block the event loop forever (proves the watchdog kills a stuck process and the next boot says why).
 */
import type { Logger } from '../logging/logger';

export function installTestHooks(opts: { logger: Logger; activity: (what: string) => void }): void {
  opts.logger.warn(
    '⚠️ TEST HOOKS ENABLED (BYNINJA_TEST_HOOKS): SIGUSR2 blocks the event loop. Never set this in production.',
  );
  process.on('SIGUSR2', () => {
    opts.activity('test hook: event loop blocked on purpose (SIGUSR2)');
    opts.logger.warn('test hook: blocking the event loop forever');
    for (;;) {
      // Busy loop on purpose: a stuck main thread, as a runaway computation or a sync deadlock would be.
    }
  });
}
