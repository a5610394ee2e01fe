/**
 * After each test: closes what `opened` names, in its order (the engine before the exchange it trades on). What it
 * closed once it never closes again: a test that fails before opening its own leaves the last test's named.
 */
export function closeAfterEach(opened: () => ReadonlyArray<{ close(): Promise<void> } | undefined>): void {
  const closed = new WeakSet<object>();
  afterEach(async () => {
    for (const part of opened()) {
      if (!part || closed.has(part)) continue;
      closed.add(part);
      await part.close();
    }
  });
}
