/**
 * Which build each process runs (scripts/build.js: every build is a `dist-<id>/` directory holding its build.json,
 * `dist` a symlink to the current one; a daemon marks the build it started from in `<build>/.in-use/<pid>`,
 * scripts/daemon-launcher/build-in-use.ts). After `npm run build` without a restart, or a crash that brought one
 * daemon back on the new build while the other still runs the old one, the pair runs two builds: `byninja status`
 * and /status say so, with the fix (`npm run upgrade`). Every read is best effort: an install not built by
 * scripts/build.js (a plain `dist/` directory) has no build names, and nothing is said then.
 */
import fs from 'node:fs';
import path from 'node:path';

const BUILD_PREFIX = 'dist-';

/** The build directory `fromDir` lies in (the nearest above it holding build.json), or undefined. */
export function buildDirOf(fromDir: string): string | undefined {
  try {
    for (let dir = fromDir; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      if (fs.existsSync(path.join(dir, 'build.json'))) return dir;
    }
  } catch {
    // unreadable: no build known
  }
  return undefined;
}

/** The build this code runs from (`dist-<id>`), or undefined outside a build of scripts/build.js. */
export function ownBuild(): string | undefined {
  const dir = buildDirOf(__dirname);
  return dir ? path.basename(dir) : undefined;
}

export interface BuildView {
  /** The build the process runs (`dist-<id>`). */
  name: string;
  /** The build `dist` points at now, when it differs: a restart would run that one. */
  current?: string;
}

/**
 * The build process `pid` marked in use under `root` (the install, where `dist` and the `dist-*` builds are), and
 * the current one when it differs; undefined when no build holds its mark.
 */
export function buildOfProcess(root: string, pid: number): BuildView | undefined {
  try {
    const name = fs
      .readdirSync(root)
      .find(
        (entry) =>
          entry.startsWith(BUILD_PREFIX) && fs.existsSync(path.join(root, entry, '.in-use', String(pid))),
      );
    if (!name) return undefined;
    const current = path.basename(fs.readlinkSync(path.join(root, 'dist')));
    return current === name ? { name } : { name, current };
  } catch {
    return undefined;
  }
}

/** The install this code runs from (the parent of its build), or undefined outside a build of scripts/build.js. */
export function installRoot(): string | undefined {
  const dir = buildDirOf(__dirname);
  return dir ? path.dirname(dir) : undefined;
}
