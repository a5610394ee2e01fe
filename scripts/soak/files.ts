/** Sizes of every file under a directory (recursive), keyed by `<label>/<relative path>`. */
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
      else if (e.isFile()) {
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
