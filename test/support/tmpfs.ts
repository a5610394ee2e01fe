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

  private constructor(readonly dir: string) {
    this.ballast = path.join(dir, '.ballast');
  }

  /** Mounts a tmpfs of `sizeMiB` on a fresh temp dir; undefined (with `why`) when this machine does not allow it. */
  static mount(sizeMiB: number, why: { reason?: string } = {}): Tmpfs | undefined {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir], {
        stdio: 'pipe',
      });
      return new Tmpfs(dir);
    } catch (err) {
      why.reason = `cannot mount a tmpfs here: ${((err as { stderr?: Buffer }).stderr ?? '').toString().trim() || (err as Error).message}`;
      fs.rmSync(dir, { recursive: true, force: true });
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

  /** Gives the space back. */
  free(): void {
    fs.rmSync(this.ballast, { force: true });
  }

  readOnly(on: boolean): void {
    execFileSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, this.dir], { stdio: 'pipe' });
  }

  /** Unmounts (lazily, so a straggling process cannot keep it busy) and removes the mount point. */
  unmount(): void {
    try {
      execFileSync('umount', ['-l', this.dir], { stdio: 'pipe' });
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
