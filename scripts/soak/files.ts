/**
 * A file that exists only while one write is in flight: the temp file of an atomic replace
 * (`.<name>.tmp-<pid>-<hex>`, shared/persistence/durable-file.ts) or of the last-exit breadcrumb
 * (`<name>.<pid>.<hex>.tmp`). A sample that catches one says nothing about growth; one left behind by a dead writer
 * is removed by the next open (removeStaleTempFilesSync, tested there).
 */
export function isWriteInFlight(name: string): boolean {
  return /^\..+\.tmp-\d+-[0-9a-f]+$/.test(name) || /\.\d+\.[0-9a-f]+\.tmp$/.test(name);
}

/** Sizes of every file under a directory (recursive), keyed by `<label>/<relative path>`; writes in flight left out. */
import fs from 'node:fs';
import path from 'node:path';

export function fileSizes(dir: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return; // removed while walking (a rotation, a compaction's temp file)
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !isWriteInFlight(e.name)) {
        try {
          out.set(`${label}/${path.relative(dir, p)}`, fs.statSync(p).size);
        } catch {
          // gone between readdir and stat
        }
      }
    }
  };
  walk(dir);
  return out;
}
