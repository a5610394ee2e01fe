import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { installCrashHandlers } from '../../../src/shared/lifecycle/crash-handlers';
import { createLogger } from '../../../src/shared/logging/logger';
import { flush } from '../../support/fake-clock';

type FakeProcess = NodeJS.Process & EventEmitter & { emit(event: string, ...args: unknown[]): boolean };

function setup() {
  const proc = new EventEmitter() as unknown as FakeProcess;
  const steps: string[] = [];
  let finishFlush: () => void = () => undefined;
  const remove = installCrashHandlers({
    proc,
    logger: createLogger({ service: 'test', console: false, sinks: [] }),
    recordCrash: (reason) => void steps.push(`record ${reason}`),
    halt: (reason) => void steps.push(`halt ${reason}`),
    flushStores: () => {
      steps.push('flush');
      return new Promise<void>((r) => (finishFlush = r));
    },
    flushBudgetMs: 60_000,
    exit: (code) => void steps.push(`exit ${code}`),
  });
  return { proc, steps, remove, finishFlush: () => finishFlush() };
}

describe('crash handlers', () => {
  it('an uncaught exception is recorded, halts new work before the flush gives the loop back, then exits 1', async () => {
    const { proc, steps, remove, finishFlush } = setup();
    try {
      proc.emit('uncaughtException', new Error('boom'));
      // all synchronous, before anything else can run: no tick, no order while the stores flush
      expect(steps).to.deep.equal([
        'record uncaughtException: Error: boom',
        'halt uncaughtException: Error: boom',
        'flush',
      ]);
      finishFlush();
      await flush();
      expect(steps.at(-1)).to.equal('exit 1');
    } finally {
      remove();
    }
  });

  it('a failing halt does not stop the flush or the exit', async () => {
    const proc = new EventEmitter() as unknown as FakeProcess;
    const steps: string[] = [];
    const remove = installCrashHandlers({
      proc,
      logger: createLogger({ service: 'test', console: false, sinks: [] }),
      recordCrash: () => undefined,
      halt: () => {
        throw new Error('halt broke');
      },
      flushStores: async () => void steps.push('flush'),
      exit: (code) => void steps.push(`exit ${code}`),
    });
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      proc.emit('unhandledRejection', new Error('later'));
    } finally {
      process.stderr.write = write;
    }
    await flush();
    await flush();
    expect(steps).to.deep.equal(['flush', 'exit 1']);
    remove();
  });
});
