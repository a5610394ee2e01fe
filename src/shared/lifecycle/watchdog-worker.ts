/**
 * Body of the watchdog worker thread (see watchdog.ts). Runs on its own event loop, so it keeps ticking while
 * the main thread is blocked.
 */
import fs from 'node:fs';
import { workerData } from 'node:worker_threads';
import { writeJsonFileSync } from './durable-json-sync';
import type { Breadcrumb } from './last-exit';
import { ACTIVITY_BYTES, HEADER_BYTES, SLOT, type WatchdogWorkerData } from './watchdog';

const data = workerData as WatchdogWorkerData;
const ints = new Int32Array(data.sab, 0, HEADER_BYTES / 4);
const bytes = new Uint8Array(data.sab, HEADER_BYTES, ACTIVITY_BYTES);
const decoder = new TextDecoder();

let lastBeat = Atomics.load(ints, SLOT.beat);
// The real clock, not the service's injected one: this is another thread (a Clock object cannot cross into it), and
// its job is to judge the main thread by wall time precisely when everything the main thread owns is stuck.
let lastProgressAt = Date.now();

function readActivity(): string | undefined {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = Atomics.load(ints, SLOT.activityVersion);
    if (before % 2 === 1) continue;
    const length = Atomics.load(ints, SLOT.activityLength);
    const text = decoder.decode(bytes.slice(0, length));
    if (Atomics.load(ints, SLOT.activityVersion) === before) return text || undefined;
  }
  return undefined;
}

let lastCheckAt = Date.now();

setInterval(() => {
  const beat = Atomics.load(ints, SLOT.beat);
  const now = Date.now();
  const gap = now - lastCheckAt;
  lastCheckAt = now;
  // This thread itself did not run for a long while: the whole process was paused (host suspend, SIGSTOP,
  // debugger). The main thread was not stuck; restart the count instead of killing a healthy process.
  if (gap > Math.max(1_000, data.checkMs * 4)) {
    lastBeat = beat;
    lastProgressAt = now;
    return;
  }
  if (beat !== lastBeat) {
    lastBeat = beat;
    lastProgressAt = now;
    if (now - lastAliveAt >= data.aliveEveryMs) touchAlive(now);
    return;
  }
  const stalledMs = now - lastProgressAt;
  if (stalledMs < data.stallMs) return;
  const activity = readActivity();
  try {
    const crumb: Breadcrumb = {
      kind: 'stall',
      pid: data.pid,
      startedAt: data.startedAt,
      at: now,
      reason: `event loop blocked for ${stalledMs} ms (watchdog limit ${data.stallMs} ms)`,
      activity,
    };
    writeJsonFileSync(data.breadcrumbFile, crumb);
  } catch (err) {
    say(`watchdog: could not write the stall breadcrumb: ${String(err)}`);
  }
  say(
    `💀 watchdog: event loop blocked for ${stalledMs} ms${activity ? ` (last activity: ${activity})` : ''}: killing pid ${data.pid}`,
  );
  process.kill(data.pid, 'SIGKILL');
}, data.checkMs);

let lastAliveAt = 0;
let aliveFailed = false;

/** The run's last sign of life: the mtime of its `.alive` file (created on the first touch). */
function touchAlive(now: number): void {
  if (!data.aliveFile) return;
  lastAliveAt = now;
  try {
    try {
      fs.utimesSync(data.aliveFile, now / 1000, now / 1000);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fs.closeSync(fs.openSync(data.aliveFile, 'w', 0o600));
    }
  } catch (err) {
    // said once: a kill is then dated by when it was noticed, as without the file
    if (!aliveFailed) say(`watchdog: could not touch ${data.aliveFile}: ${String(err)}`);
    aliveFailed = true;
  }
}

/** Straight to fd 2: a worker's process.stderr is relayed by the main thread, which is the one that is stuck. */
function say(line: string): void {
  try {
    fs.writeSync(2, `${new Date().toISOString()} error ${line}\n`);
  } catch {
    // nothing left to tell
  }
}
