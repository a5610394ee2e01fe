/**
 * Runs the compiled `byninja` CLI (dist/src/cli/main.js) as a child process, the way an operator or a script
 * would, and returns its exit code and output (never throws on a non-zero exit: the code is the result).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../harness/pm2';

export const CLI_MAIN = path.join(REPO_ROOT, 'dist/src/cli/main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number },
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_MAIN, ...args],
      { env: opts.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
