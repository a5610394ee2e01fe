/**
 * One Bot API request with a deadline. telegraf's client gives every request a fixed 500 s timeout
 * (node_modules/telegraf/lib/core/network/client.js): a connection that a NAT or firewall forgot, a Wi-Fi switch
 * or a suspended VM gives no FIN and no RST, and the request waits all that time. Here each request gets its own
 * AbortController, aborted by a timer after `timeoutMs` (the error: a NetworkError naming the method and the
 * deadline) or by `stop` (the error: the stop's reason). The stop is followed through a listener removed when the
 * request ends, never AbortSignal.any: on Node 20 that left one entry per call on the long-lived signal
 * (notify/outbox.ts). Telegram's answers and failures come out as ByNinja errors (telegram-errors.ts).
 */
import type { Clock } from '../../shared/clock';
import { NetworkError } from '../../shared/errors';
import { toTelegramError } from './telegram-errors';

export async function timedCall<T>(
  method: string,
  timeoutMs: number,
  clock: Clock,
  call: (signal: AbortSignal) => Promise<T>,
  stop?: AbortSignal,
): Promise<T> {
  const ctl = new AbortController();
  const onStop = (): void => ctl.abort(stop?.reason);
  if (stop?.aborted) onStop();
  else stop?.addEventListener('abort', onStop, { once: true });
  const cancel = clock.timer(timeoutMs, () =>
    ctl.abort(
      new NetworkError(`Telegram ${method}: no answer within ${timeoutMs} ms`, { method, timeoutMs }),
    ),
  );
  try {
    return await call(ctl.signal);
  } catch (err) {
    if (ctl.signal.aborted) throw ctl.signal.reason;
    throw toTelegramError(err, method);
  } finally {
    cancel();
    stop?.removeEventListener('abort', onStop);
  }
}
