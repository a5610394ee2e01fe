#!/usr/bin/env node
// `npm run build`. Builds never touch what the running daemons use: everything is compiled into a fresh directory
// `dist-<id>/` (tsc, then scripts/bundle.ts for the daemon bundles), and only a complete build replaces the `dist`
// symlink — atomically (rename of a new link over the old one), so `dist/` always is one whole build. A failed
// build (a tsc error) removes only its own directory: `dist` and every running daemon keep the current build.
// PM2 starts `dist/daemons/<name>.js` (ecosystem.config.js): a daemon restarted during a build comes back on the
// current build; one restarted after it, on the new one (`npm run upgrade` restarts them in order).
//
// A running daemon keeps using the build it started from (node resolves the link when it loads a module): old
// builds are removed only when no live process marked them in use (scripts/daemon-launcher/build-in-use.ts) and they are not
// among the KEEP newest. Plain JavaScript: it has to run before anything is compiled.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const LINK = path.join(ROOT, 'dist');
const PREFIX = 'dist-';
/** Builds kept besides the current one (a daemon not restarted since may still run from one). */
const KEEP = 2;
/** A build directory without its build.json this old was abandoned (a killed build). */
const ABANDONED_MS = 60 * 60 * 1000;

function main() {
  const started = Date.now();
  const id = `${new Date(started).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${process.pid}`;
  const name = `${PREFIX}${id}`;
  const dir = path.join(ROOT, name);
  const current = currentBuild();

  const step = (what, args) => {
    const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    if (result.status === 0) return;
    fs.rmSync(dir, { recursive: true, force: true });
    process.stderr.write(
      `\nbuild failed (${what}): nothing replaced — dist/ is still ${current ?? '(none)'} and running services are untouched\n`,
    );
    process.exit(result.status || 1);
  };
  step('tsc', [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', dir]);
  step('bundle', [path.join(dir, 'scripts', 'bundle.js')]);
  fs.writeFileSync(
    path.join(dir, 'build.json'),
    JSON.stringify({ id, builtAt: new Date().toISOString(), node: process.version }, null, 2) + '\n',
  );

  switchTo(name);
  linkOwnBin();
  const removed = prune(ROOT, name);
  console.log(
    `built ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s; dist → ${name}` +
      (removed.length ? ` (removed ${removed.join(', ')})` : ''),
  );
}

/**
 * `npx byninja` in the checkout: npm links the bins of dependencies into node_modules/.bin, never the package's
 * own, so npx went looking for a "byninja" package on the registry (38 s, then maybe a stranger's). A link
 * node_modules/.bin/byninja → bin/byninja.js makes it answer at once. package.json declares no `bin` on purpose:
 * npx runs a bin the checkout's own package.json declares by installing the checkout into its npx cache first
 * (~20–28 s of CPU, minutes on a loaded server, at the first npx of each npm cache). Best effort: the CLI also runs
 * as `node bin/byninja.js`.
 */
function linkOwnBin() {
  const modules = path.join(ROOT, 'node_modules');
  // a node_modules shared by link with another checkout (a test's install copy) is that checkout's to link
  if (!fs.existsSync(modules) || fs.lstatSync(modules).isSymbolicLink()) return;
  const binDir = path.join(modules, '.bin');
  const link = path.join(binDir, 'byninja');
  const target = path.join('..', '..', 'bin', 'byninja.js');
  fs.mkdirSync(binDir, { recursive: true });
  try {
    if (fs.readlinkSync(link) === target) return;
    fs.rmSync(link, { force: true });
  } catch {
    // no link yet
  }
  try {
    fs.symlinkSync(target, link);
  } catch (err) {
    process.stderr.write(
      `note: could not link node_modules/.bin/byninja (${err.message}); use node bin/byninja.js\n`,
    );
  }
}

/** The build `dist` points at, if it is a link to one. */
function currentBuild() {
  try {
    return path.basename(fs.readlinkSync(LINK));
  } catch {
    return undefined;
  }
}

/** Points `dist` at `name` in one rename; a `dist` directory of an older layout is moved aside first. */
function switchTo(name) {
  const tmp = path.join(ROOT, `.dist-link-${process.pid}`);
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(name, tmp, 'dir');
  let stat;
  try {
    stat = fs.lstatSync(LINK);
  } catch {
    stat = undefined;
  }
  if (stat && !stat.isSymbolicLink()) fs.renameSync(LINK, path.join(ROOT, `${PREFIX}legacy-${Date.now()}`));
  fs.renameSync(tmp, LINK);
}

/** Removes the old builds of `root` that no live process uses and are not among the KEEP newest; returns them. */
function prune(root, current) {
  const builds = fs
    .readdirSync(root)
    .filter((n) => n.startsWith(PREFIX) && n !== current)
    .map((n) => ({ name: n, dir: path.join(root, n), mtime: mtimeOf(path.join(root, n)) }))
    .sort((a, b) => b.mtime - a.mtime);
  const removed = [];
  let kept = 0;
  for (const b of builds) {
    const complete = fs.existsSync(path.join(b.dir, 'build.json')) || b.name.startsWith(`${PREFIX}legacy-`);
    if (!complete && Date.now() - b.mtime < ABANDONED_MS) continue; // another build in progress
    if (inUse(b.dir)) continue;
    if (complete && kept < KEEP) {
      kept += 1;
      continue;
    }
    fs.rmSync(b.dir, { recursive: true, force: true });
    removed.push(b.name);
  }
  return removed;
}

/** A live process started from this build (its marker names a pid that still runs). */
function inUse(dir) {
  const markers = path.join(dir, '.in-use');
  let pids;
  try {
    pids = fs.readdirSync(markers);
  } catch {
    return false;
  }
  let live = false;
  for (const pid of pids) {
    if (alive(Number(pid))) live = true;
    else fs.rmSync(path.join(markers, pid), { force: true });
  }
  return live;
}

function alive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function mtimeOf(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

if (require.main === module) main();
module.exports = { prune, KEEP };
