import type { Clock } from './clock';

/**
 * Races a promise against a deadline: rejects with `onTimeout()`'s error after `ms` (the promise itself keeps
 * running — callers decide what a late answer means, e.g. an order create whose outcome is then UNKNOWN).
 * A non-finite `ms` means no deadline. The deadline runs on `clock`: the caller's, passed down from its composition root.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  clock: Clock,
): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.timer(ms, () => reject(onTimeout()));
    promise.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (e: unknown) => {
        cancel();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
