/**
 * Marks the build a daemon runs from as in use: `<build>/.in-use/<pid>`. `npm run build` (scripts/build.js) never
 * removes a build that a live process marked, so a daemon that was not restarted since keeps every file it may still
 * load (the watchdog worker, its code cache). The marker goes at exit; one left by a SIGKILL names a dead pid and is
 * ignored. Best effort: a read-only install just relies on the builds the build script keeps anyway.
 */
import fs from 'node:fs';
import path from 'node:path';

export function markBuildInUse(buildDir: string): void {
  try {
    const dir = path.join(buildDir, '.in-use');
    fs.mkdirSync(dir, { recursive: true });
    const marker = path.join(dir, String(process.pid));
    fs.writeFileSync(marker, '');
    process.once('exit', () => fs.rmSync(marker, { force: true }));
  } catch {
    // not worth failing a start over
  }
}
