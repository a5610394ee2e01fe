import { expect } from 'chai';
import { readTogether } from '../../../src/trading/engine/start/read-together';

/** A read that waits until its signal aborts (a retryForever waiting out an outage), then rejects with the reason. */
function waitsUntilAborted(log: string[], name: string): (signal: AbortSignal) => Promise<never> {
  return (signal) =>
    new Promise((_, reject) => {
      signal.addEventListener('abort', () => {
        log.push(`${name} stopped`);
        reject(signal.reason);
      });
    });
}

describe('readTogether: the start-up reads sent at once', () => {
  it('starts every read before any has answered and gives their answers in order', async () => {
    const started: string[] = [];
    const read =
      <T>(name: string, value: T) =>
      async (): Promise<T> => {
        started.push(name);
        await new Promise((r) => setImmediate(r));
        return value;
      };
    const [a, b, c] = await readTogether(undefined, [
      read('a', 1),
      read('b', 'two'),
      read('c', [3]),
    ] as const);
    expect(started).to.deep.equal(['a', 'b', 'c']);
    expect([a, b, c]).to.deep.equal([1, 'two', [3]]);
  });

  it('a read failing for good stops the others still waiting, and its error is the answer', async () => {
    const log: string[] = [];
    const refused = new Error('key refused for good');
    const outcome = await readTogether(undefined, [
      waitsUntilAborted(log, 'markets'),
      async () => {
        await new Promise((r) => setImmediate(r));
        throw refused;
      },
    ] as const).catch((err: unknown) => err);
    expect(outcome).to.equal(refused);
    expect(log).to.deep.equal(['markets stopped']);
  });

  it('stops every read when the parent signal aborts (shutdown during start)', async () => {
    const log: string[] = [];
    const shutdown = new AbortController();
    const reads = readTogether(shutdown.signal, [
      waitsUntilAborted(log, 'a'),
      waitsUntilAborted(log, 'b'),
    ] as const);
    shutdown.abort(new Error('stopping'));
    const outcome = await reads.catch((err: unknown) => err);
    expect((outcome as Error).message).to.equal('stopping');
    expect(log).to.have.members(['a stopped', 'b stopped']);
  });
});
