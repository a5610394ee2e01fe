/**
 * A copy of this checkout in a temp dir — sources, scripts, ecosystem, package.json, node_modules linked — with the
 * build the tests run from as its current `dist`. For tests that build, start, upgrade: they switch that copy's
 * `dist`, never the one of the checkout whose tests are running.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../harness/pm2';

/** What a build needs (the scripts import harness/); the test files themselves are left out. */
const COPIED = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'ecosystem.config.js',
  'bin',
  'scripts',
  'src',
  'harness',
];

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

export class InstallCopy {
  private constructor(readonly root: string) {}

  static create(prefix = 'bn-install-'): InstallCopy {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    for (const entry of COPIED)
      fs.cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
    fs.mkdirSync(path.join(root, 'logs'));
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    const build = fs.realpathSync(path.join(REPO_ROOT, 'dist'));
    const name = path.basename(build);
    fs.cpSync(build, path.join(root, name), {
      recursive: true,
      // what a running process of the checkout left there is not part of the build
      filter: (src) => !/[/\\]\.(in-use|cache)([/\\]|$)/.test(src),
    });
    fs.symlinkSync(name, path.join(root, 'dist'), 'dir');
    return new InstallCopy(root);
  }

  /** The build `dist` points at now (`dist-<id>`). */
  currentBuild(): string {
    return path.basename(fs.readlinkSync(path.join(this.root, 'dist')));
  }

  builds(): string[] {
    return fs
      .readdirSync(this.root)
      .filter((n) => n.startsWith('dist-'))
      .sort();
  }

  /** Runs `npm <args>` in the copy (as an operator would), never throwing on a non-zero exit. */
  npm(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<CommandRun> {
    return this.npmRunning(args, env, timeoutMs).done;
  }

  /** Like npm(), with the output so far readable while it runs. */
  npmRunning(
    args: string[],
    env: NodeJS.ProcessEnv,
    timeoutMs = 180_000,
  ): { done: Promise<CommandRun>; output(): string } {
    let stdout = '';
    let stderr = '';
    const child = spawn('npm', args, { cwd: this.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = new Promise<CommandRun>((resolve) => {
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
    return { done, output: () => stdout + stderr };
  }

  /** Runs the copy's `byninja` CLI. */
  cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CommandRun> {
    return run(process.execPath, [path.join(this.root, 'bin', 'byninja.js'), ...args], {
      cwd: this.root,
      env,
      timeoutMs,
    });
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

function run(
  file: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CommandRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
