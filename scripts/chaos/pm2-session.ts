/**
 * A PM2 daemon in a temporary PM2_HOME (via harness/'s Pm2Harness) plus a programmatic connection to it:
 * the process list and the event bus, with every 'process:event' packet recorded as it arrives. Benchmarks and
 * the chaos run use it to time kills, restarts and readiness from PM2's own clock.
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Pm2Harness, REPO_ROOT } from '../../harness/pm2';

// pm2 ships no types; this is the part of its API used here.
interface Pm2Api {
  connect(noDaemon: boolean, cb: (err: Error | null) => void): void;
  Client: { disconnectRPC(cb: () => void): void; disconnectBus(cb: () => void): void };
  list(cb: (err: Error | null, list: RawProcess[]) => void): void;
  launchBus(cb: (err: Error | null, bus: EventEmitter & { close?: () => void }) => void): void;
}
type Pm2Ctor = new (opts: { pm2_home: string; daemon_mode: boolean }) => Pm2Api;

interface RawProcess {
  name: string;
  pid: number;
  pm_id: number;
  monit?: { memory: number; cpu: number };
  pm2_env: Record<string, unknown> & {
    status: string;
    restart_time: number;
    exit_code?: number;
    prev_restart_delay?: number;
    pm_uptime?: number;
  };
}

export interface ProcessEvent {
  /** PM2's event name: online, exit, restart, stop, 'restart overlimit'… */
  event: string;
  name: string;
  pmId: number;
  /** PM2 daemon clock, epoch ms. */
  at: number;
  /** Our clock when the packet arrived, epoch ms. */
  receivedAt: number;
  exitCode?: number;
  /** Delay PM2 applied (exp backoff) before the restart that led to this event, ms. */
  restartDelayMs?: number;
  restartTime: number;
  status: string;
}

export interface ProcessSnapshot {
  name: string;
  pid: number;
  status: string;
  restarts: number;
  memoryBytes: number;
  restartDelayMs: number;
  uptimeSince?: number;
}

/** Live sessions, so an interrupted run (Ctrl-C) still kills its PM2 daemons. */
const live = new Set<Pm2Session>();
let signalsHooked = false;

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const s of live) s.killNow();
      process.exit(130);
    });
  }
}

export class Pm2Session {
  readonly events: ProcessEvent[] = [];
  readonly bus = new EventEmitter();
  private api?: Pm2Api;
  private rawBus?: EventEmitter & { close?: () => void };
  private readonly cleanups: Array<(keepFiles: boolean) => void> = [];

  private constructor(readonly harness: Pm2Harness) {}

  static async start(prefix = 'byninja-pm2-'): Promise<Pm2Session> {
    const harness = Pm2Harness.create(prefix);
    const session = new Pm2Session(harness);
    live.add(session);
    hookSignals();
    try {
      // The CLI starts the daemon with the harness env (PM2_HOME, data/log dirs); the API then only connects.
      await harness.pm2(['ping']);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const Custom = (require('pm2') as { custom: Pm2Ctor }).custom;
      session.api = new Custom({ pm2_home: harness.home, daemon_mode: true });
      await new Promise<void>((resolve, reject) =>
        session.api!.connect(false, (err) => (err ? reject(err) : resolve())),
      );
      const rawBus = await new Promise<EventEmitter & { close?: () => void }>((resolve, reject) =>
        session.api!.launchBus((err, bus) => (err ? reject(err) : resolve(bus))),
      );
      session.rawBus = rawBus;
      rawBus.on(
        'process:event',
        (packet: {
          event: string;
          at: number;
          process: RawProcess['pm2_env'] & { name: string; pm_id: number };
        }) => {
          const p = packet.process;
          const ev: ProcessEvent = {
            event: packet.event,
            name: p.name,
            pmId: p.pm_id,
            at: Number(packet.at),
            receivedAt: Date.now(),
            exitCode: typeof p.exit_code === 'number' ? p.exit_code : undefined,
            restartDelayMs: typeof p.prev_restart_delay === 'number' ? p.prev_restart_delay : undefined,
            restartTime: p.restart_time,
            status: p.status,
          };
          session.events.push(ev);
          session.bus.emit('event', ev);
        },
      );
      return session;
    } catch (err) {
      await session.stop();
      throw err;
    }
  }

  async list(): Promise<ProcessSnapshot[]> {
    const raw = await new Promise<RawProcess[]>((resolve, reject) =>
      this.api!.list((err, l) => (err ? reject(err) : resolve(l))),
    );
    return raw.map((p) => ({
      name: p.name,
      pid: p.pid,
      status: p.pm2_env.status,
      restarts: p.pm2_env.restart_time,
      memoryBytes: p.monit?.memory ?? 0,
      restartDelayMs: p.pm2_env.prev_restart_delay ?? 0,
      uptimeSince: p.pm2_env.pm_uptime,
    }));
  }

  async get(name: string): Promise<ProcessSnapshot | undefined> {
    return (await this.list()).find((p) => p.name === name);
  }

  /** Resolves with the first event (recorded from `since` on) that matches, or rejects after timeoutMs. */
  waitEvent(
    match: (e: ProcessEvent) => boolean,
    timeoutMs: number,
    since = 0,
    what = 'PM2 event',
  ): Promise<ProcessEvent> {
    const already = this.events.slice(since).find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.bus.off('event', onEvent);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const onEvent = (e: ProcessEvent): void => {
        if (!match(e)) return;
        clearTimeout(timer);
        this.bus.off('event', onEvent);
        resolve(e);
      };
      this.bus.on('event', onEvent);
    });
  }

  /** Polls the process list until the app is online with a pid (PM2 online = after wait_ready). */
  async waitOnline(name: string, timeoutMs = 30_000, notPid?: number): Promise<ProcessSnapshot> {
    const deadline = Date.now() + timeoutMs;
    let last: ProcessSnapshot | undefined;
    while (Date.now() < deadline) {
      last = await this.get(name);
      if (last && last.status === 'online' && last.pid > 0 && last.pid !== notPid) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${name} online; last ${JSON.stringify(last)}`);
  }

  /**
   * Registers a synchronous step that runs once PM2 and its apps are gone, before the temp dir is removed (also on
   * the signal path): e.g. unmounting a file system mounted inside it.
   */
  onCleanup(step: (keepFiles: boolean) => void): void {
    this.cleanups.push(step);
  }

  private runCleanups(keepFiles: boolean): void {
    for (const step of this.cleanups.splice(0)) {
      try {
        step(keepFiles);
      } catch (err) {
        process.stderr.write(`cleanup step failed: ${(err as Error).message}\n`);
      }
    }
  }

  /** Synchronous last resort on a signal: kill this home's PM2 daemon (and its apps) and remove the temp dir. */
  killNow(): void {
    try {
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/pm2/bin/pm2'), 'kill'], {
        env: this.harness.env(),
        stdio: 'ignore',
        timeout: 20_000,
      });
    } catch {
      // daemon already gone
    }
    this.runCleanups(false);
    fs.rmSync(this.harness.root, { recursive: true, force: true });
  }

  async stop(opts: { keepFiles?: boolean } = {}): Promise<void> {
    live.delete(this);
    try {
      this.rawBus?.close?.();
    } catch {
      // bus already closed
    }
    // not api.disconnect(): its callbacks can run twice under load, thrown uncaught (src/ops/pm2-client.ts says how)
    if (this.api) {
      await new Promise<void>((resolve) => this.api!.Client.disconnectRPC(() => resolve()));
      await new Promise<void>((resolve) => this.api!.Client.disconnectBus(() => resolve()));
    }
    await this.harness.stop({ keepFiles: true });
    this.runCleanups(opts.keepFiles ?? false);
    if (!opts.keepFiles) fs.rmSync(this.harness.root, { recursive: true, force: true });
  }
}
