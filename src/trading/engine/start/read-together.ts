/**
 * Independent exchange reads of the start, sent together (one round trip for all instead of one each; the exchange
 * adapter's limiter keeps them inside the exchange's budget). Each read gets a signal that aborts when another one
 * failed for good or when `parent` aborts, so a read still waiting out an outage (`retryForever`) stops instead of
 * retrying on behind a start that already failed.
 */
export async function readTogether<T extends readonly unknown[]>(
  parent: AbortSignal | undefined,
  reads: { [K in keyof T]: (signal: AbortSignal) => Promise<T[K]> },
): Promise<T> {
  const failed = new AbortController();
  const signal = parent ? AbortSignal.any([parent, failed.signal]) : failed.signal;
  const started = reads.map((read) =>
    read(signal).catch((err: unknown) => {
      failed.abort(err);
      throw err;
    }),
  );
  // the first failure is the answer; the others (aborted by it) are awaited so none is left unhandled
  const settled = await Promise.allSettled(started);
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) throw failed.signal.reason ?? failure.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
