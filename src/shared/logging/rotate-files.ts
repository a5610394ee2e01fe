/**
 * The numbered-generation scheme shared by the JSON log files and PM2's out/err files:
 * `<file>` is live, `<file>.1` the newest rotated generation … `<file>.<keep>` the oldest kept.
 */
import fs from 'node:fs';

/** Drops `<file>.<keep>` and shifts `.1 … .<keep-1>` up by one, freeing `<file>.1`. Missing files are fine. */
export function shiftGenerations(file: string, keep: number): void {
  removeIfExists(`${file}.${keep}`);
  for (let i = keep - 1; i >= 1; i--) {
    try {
      fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Removes generations above `keep` left by an earlier, larger setting. */
export function pruneGenerations(file: string, keep: number): void {
  for (let i = keep + 1; i <= keep + 20; i++) removeIfExists(`${file}.${i}`);
}

function removeIfExists(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
