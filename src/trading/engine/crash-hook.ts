/**
 * Test-only crash points in the order life, for the crash tests: with `app.testHooks` on and
 * `BYNINJA_TEST_CRASH_AT=<step>`, the process SIGKILLs itself the first time an order reaches that step.
 * Without both, `createCrashHook` returns a no-op, so a normal run never dies here.
 */
export const CRASH_STEPS = [
  'before-intent-commit',
  'after-intent-commit',
  'after-create',
  'after-fill',
  // an order change and its events are committed, the events not yet in the event log
  'before-events',
] as const;
export type CrashStep = (typeof CRASH_STEPS)[number];
export type CrashHook = (step: CrashStep) => void;

export const noCrash: CrashHook = () => {};

export function createCrashHook(testHooks: boolean, env: NodeJS.ProcessEnv = process.env): CrashHook {
  const at = env.BYNINJA_TEST_CRASH_AT;
  if (!testHooks || !at) return noCrash;
  if (!(CRASH_STEPS as readonly string[]).includes(at)) {
    throw new RangeError(`BYNINJA_TEST_CRASH_AT must be one of ${CRASH_STEPS.join(', ')} (got ${at})`);
  }
  return (step) => {
    if (step !== at) return;
    process.stderr.write(`test hook: SIGKILL at ${step}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
