/**
 * The PM2 daemon died under the pair (the OOM killer, a stray kill, a PM2 bug): both services stop with it
 * (shutdown.ts PM2_GONE: nothing would restart or supervise them) — trading's positions go unwatched until the pair
 * runs again: systemd's PM2 unit (`pm2 startup`: Restart=on-failure, ExecStart `pm2 resurrect`) brings PM2 and the
 * saved pair back; without it, only the operator does. Telegram is the only one that can say so, and only before it
 * stops: the alert goes into the outbox and the stop waits a little for the outbox to deliver it (the outbox sender
 * stops later in the shutdown, at order 60). Not delivered in time, it stays in the outbox for the next start: its
 * words say when PM2 died, so they hold then too.
 */
import type { Clock } from '../../shared/clock';
import type { Notifier, NotificationInput } from '../notify/notification';

/** How often the outbox is looked at while waiting for the alert to leave. */
const POLL_MS = 50;

/**
 * The alert for PM2 found gone at `at`. Worded to hold when it is read at once and when it is delivered at the pair's
 * next start (Telegram did not take it in time): when it happened, what it left unwatched, what brings the pair back.
 */
export function pm2GoneAlert(at: number): NotificationInput {
  const when = new Date(at).toISOString().slice(0, 16).replace('T', ' ');
  return {
    key: 'pm2-gone',
    priority: 'critical',
    text:
      `🚨 The PM2 daemon died at ${when} UTC, and trading and telegram stopped with it: open positions are ` +
      'unwatched (no stop-loss) from then until the pair runs again — a start message from it after this one says ' +
      'it does. Under <code>pm2 startup</code> (systemd) PM2 and the saved pair are started again by systemd ' +
      'within a minute; otherwise start the pair: <code>npm start</code> in the ByNinja directory on the server.',
  };
}

/** Queues the alert, then waits until the outbox is empty or `waitMs` passed. Never rejects. */
export async function tellPm2Gone(outbox: Notifier, clock: Clock, waitMs: number): Promise<void> {
  await outbox.notify(pm2GoneAlert(clock.now())).catch(() => undefined);
  const until = clock.now() + waitMs;
  while (outbox.depth() > 0 && clock.now() < until) await clock.sleep(POLL_MS);
}
