/** Entry of the `byninja` command (bin/byninja.js): runs the CLI and exits with its code. */
import readline from 'node:readline/promises';
import { systemClock } from '../shared/clock';
import { runCli } from './cli';

async function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  clock: systemClock,
  ...(process.stdin.isTTY ? { ask } : {}),
}).then(
  (code) => {
    // Exit once output is flushed; pm2's API keeps sockets and timers that would hold the process open.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`byninja: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
