/**
 * A small real file system for disk-fault tests: a tmpfs mounted on a temp dir, which can be filled to the last
 * byte (ENOSPC) or remounted read-only (EROFS) and back. Needs root (or CAP_SYS_ADMIN); `Tmpfs.mount` returns
 * undefined where mounting is not allowed, and the caller skips with the reason.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class Tmpfs {
  private ballast: string;

  private constructor(
    readonly dir: string,
    /** The mount point was made by `mount` (removed by `unmount`), not given by the caller. */
    private readonly ownsDir: boolean,
  ) {
    this.ballast = path.join(dir, '.ballast');
  }

  /**
   * Mounts a tmpfs of `sizeMiB` on a fresh temp dir, or on `opts.at` (an existing empty dir the caller keeps);
   * undefined (with `why`) when this machine does not allow it.
   */
  static mount(
    sizeMiB: number,
    why: { reason?: string } = {},
    opts: { at?: string } = {},
  ): Tmpfs | undefined {
    const dir = opts.at ?? fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir], {
        stdio: 'pipe',
      });
      return new Tmpfs(dir, opts.at === undefined);
    } catch (err) {
      why.reason = `cannot mount a tmpfs here: ${((err as { stderr?: Buffer }).stderr ?? '').toString().trim() || (err as Error).message}`;
      if (opts.at === undefined) fs.rmSync(dir, { recursive: true, force: true });
      return undefined;
    }
  }

  /** Takes every free byte (the next write anywhere on it fails with ENOSPC). */
  fill(): void {
    const fd = fs.openSync(this.ballast, 'a');
    const chunk = Buffer.alloc(1024 * 1024);
    try {
      for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
        for (;;) {
          try {
            fs.writeSync(fd, chunk, 0, size);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Gives `bytes` of the space taken by `fill()` back (a disk almost full). */
  freeBytes(bytes: number): void {
    fs.truncateSync(this.ballast, Math.max(0, fs.statSync(this.ballast).size - bytes));
  }

  /** Gives the space back. */
  free(): void {
    fs.rmSync(this.ballast, { force: true });
  }

  /**
   * How the last `readOnly(true)` was done: 'remount' (the tmpfs itself is read-only: every write fails, EROFS) or
   * 'bind' (Linux refuses `remount,ro` while a process holds a file open for writing, EBUSY: a read-only bind of
   * the dir is stacked on top instead, so every new open for writing, create, rename and unlink fails with EROFS,
   * while a descriptor opened for writing before — an append-mode journal — still writes).
   */
  readOnlyMode?: 'remount' | 'bind';

  readOnly(on: boolean): void {
    if (on) {
      try {
        execFileSync('mount', ['-o', 'remount,ro', this.dir], { stdio: 'pipe' });
        this.readOnlyMode = 'remount';
      } catch (err) {
        if (!isBusy(err)) throw err;
        // a daemon may open a file for writing through the fresh bind before it is made read-only (EBUSY again):
        // take the bind down and try again, a few times
        for (let attempt = 1; ; attempt++) {
          execFileSync('mount', ['--bind', this.dir, this.dir], { stdio: 'pipe' });
          try {
            execFileSync('mount', ['-o', 'remount,bind,ro', this.dir], { stdio: 'pipe' });
            break;
          } catch (bindErr) {
            execFileSync('umount', ['-l', this.dir], { stdio: 'pipe' });
            if (!isBusy(bindErr) || attempt >= 10) throw bindErr;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * attempt);
          }
        }
        this.readOnlyMode = 'bind';
      }
    } else if (this.readOnlyMode === 'bind') {
      execFileSync('umount', ['-l', this.dir], { stdio: 'pipe' }); // the read-only bind on top only
      this.readOnlyMode = undefined;
    } else {
      execFileSync('mount', ['-o', 'remount,rw', this.dir], { stdio: 'pipe' });
      this.readOnlyMode = undefined;
    }
  }

  /** Whether the tmpfs is still mounted on `dir`. */
  mounted(): boolean {
    const target = fs.realpathSync(this.dir);
    return fs
      .readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[1] === target);
  }

  /**
   * Unmounts (lazily, so a straggling process cannot keep it busy) and removes the mount point it made (a
   * mount point given with `at` is left, empty, to the caller). Idempotent.
   */
  unmount(): void {
    try {
      // a read-only bind may sit on top of the tmpfs: unmount every layer
      for (let i = 0; i < 4 && fs.existsSync(this.dir) && this.mounted(); i++)
        execFileSync('umount', ['-l', this.dir], { stdio: 'pipe' });
    } finally {
      if (this.ownsDir) fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

function isBusy(err: unknown): boolean {
  return /busy/i.test(String((err as { stderr?: Buffer }).stderr ?? ''));
}
