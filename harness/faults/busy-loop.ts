/**
 * Test-only: SIGUSR2 blocks the event loop forever (a stuck main thread, as a runaway computation or a sync deadlock
 * would be), to prove the watchdog kills a stuck process and the next boot says why. Installed only by test
 * daemons and fixtures; in the shipped daemons SIGUSR2 keeps Node's default behaviour.
 */
export function installBusyLoop(opts: {
  logger: { warn(message: string): unknown };
  activity: (what: string) => void;
}): void {
  opts.logger.warn('⚠️ TEST DAEMON: SIGUSR2 blocks the event loop. Never run this in production.');
  process.on('SIGUSR2', () => {
    opts.activity('test hook: event loop blocked on purpose (SIGUSR2)');
    opts.logger.warn('test hook: blocking the event loop forever');
    for (;;) {
      // Busy loop on purpose.
    }
  });
}
