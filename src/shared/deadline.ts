/**
 * Races a promise against a deadline: rejects with `onTimeout()`'s error after `ms` (the promise itself keeps
 * running — callers decide what a late answer means, e.g. an order create whose outcome is then UNKNOWN).
 * A non-finite `ms` means no deadline.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
