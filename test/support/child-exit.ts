/** A child process's end as tests need it: its exit, and its stdout and stderr read to their end. */
import type { ChildProcess } from 'node:child_process';

/**
 * Resolves with the exit code and signal once the child has exited AND its output pipes are closed. At 'exit' the
 * pipes may still hold the last lines (a crash hook's line written just before its SIGKILL went missing under
 * load); 'close' would also wait for the IPC channel, which a test that disconnects it never sees close.
 */
export function exitedWithOutput(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pipes = [child.stdout, child.stderr].flatMap((s) =>
    s ? [new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve())))] : [],
  );
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => void Promise.all(pipes).then(() => resolve({ code, signal }))),
  );
}
