/**
 * IPC benchmarks for `npm run bench` (tcp section): the real IpcServer + IpcClient + EventLog over loopback,
 * in one process, on a temp data dir.
 *
 * - measureRoundTrip(n): latency of `ping` calls, one at a time (compare with the raw echo floor in tcp-floor.ts).
 * - measureEventThroughput(n): events/s end to end — durable publish (group-committed journal append) →
 *   server stream → client 'event' — over several trials of n events each. Publisher and subscriber share this
 *   one thread, so the figure is bounded by the CPU of both per event (in production they are two processes).
 *
 * Run alone: `node dist/scripts/bench/ipc.js [n]`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { IpcClient } from '../../src/shared/ipc/client';
import { EventLog } from '../../src/shared/ipc/event-log';
import type { TradingEvent } from '../../src/shared/ipc/protocol';
import { IpcServer } from '../../src/shared/ipc/server';
import { silentLogger } from '../../src/shared/logging/logger';
import { nowMs, summarize, type Summary } from './stats';
import { WARM_UP_CALLS, rawTcpEchoRoundTrip } from './tcp-floor';

const TOKEN = 'bench-token-0123456789abcdef0123456789';
const THROUGHPUT_TRIALS = 5;
/**
 * Publishes in flight at once. A heavy but realistic stream: far below the event retention, so a subscriber
 * that keeps up never falls behind it (a burst larger than the retention is reported as `missed`, by design).
 */
const PUBLISH_WINDOW = 1_000;
/** A trial that has not seen its last event after this long has lost the link: fail instead of hanging. */
const TRIAL_TIMEOUT_MS = 120_000;

interface Rig {
  eventLog: EventLog;
  client: IpcClient;
  received: () => number;
  waitForSeq(seq: number): Promise<void>;
  close(): Promise<void>;
}

async function startRig(withStream: boolean): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-bench-ipc-'));
  const logger = silentLogger();
  const eventLog = await EventLog.open(dir, { retention: 10_000, clock: systemClock });
  const server = new IpcServer({
    clock: systemClock,
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    maxFrameBytes: 1024 * 1024,
    maxClients: 4,
    idleTimeoutMs: 60_000,
    logger,
    eventLog,
  });
  const { port } = await server.listen();
  let cursor = 0;
  const client = new IpcClient({
    host: '127.0.0.1',
    port,
    token: TOKEN,
    client: 'bench',
    requestTimeoutMs: 10_000,
    heartbeatMs: 60_000,
    reconnect: false,
    logger,
    clock: systemClock,
    cursor: withStream ? { load: () => cursor, save: async (s) => void (cursor = s) } : undefined,
  });
  let count = 0;
  let lastSeq = 0;
  let waiter: { seq: number; resolve: () => void; reject: (err: Error) => void } | null = null;
  client.on('event', (e: TradingEvent) => {
    count++;
    lastSeq = e.seq;
    if (waiter && lastSeq >= waiter.seq) {
      waiter.resolve();
      waiter = null;
    }
  });
  client.on('link', (l: { up: boolean; reason?: string }) => {
    if (!l.up) waiter?.reject(new Error(`IPC link lost during the benchmark: ${l.reason ?? '?'}`));
  });
  await client.connect();
  return {
    eventLog,
    client,
    received: () => count,
    waitForSeq: (seq) => {
      if (lastSeq >= seq) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`event ${seq} not received in time`)),
          TRIAL_TIMEOUT_MS,
        );
        const done = (fn: () => void) => () => {
          clearTimeout(timer);
          fn();
        };
        waiter = { seq, resolve: done(resolve), reject: (err) => done(() => reject(err))() };
      });
    },
    close: async () => {
      await client.close();
      await server.close();
      await eventLog.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Round-trip latency of `ping` over IpcClient → IpcServer, in ms, one call at a time after a warm-up. */
export async function measureRoundTrip(n: number): Promise<Summary> {
  const rig = await startRig(false);
  try {
    for (let i = 0; i < WARM_UP_CALLS; i++) await rig.client.call('ping', {});
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = nowMs();
      await rig.client.call('ping', {});
      samples.push(nowMs() - t0);
    }
    return summarize(samples);
  } finally {
    await rig.close();
  }
}

/**
 * Events per second from `publish()` to the subscribed client's 'event', per trial of n events published as
 * fast as the caller can with up to PUBLISH_WINDOW in flight (the event log group-commits them). Includes
 * journal compaction when the log grows past twice the retention.
 */
export async function measureEventThroughput(n: number): Promise<Summary> {
  const rig = await startRig(true);
  try {
    const data = {
      symbol: 'BTC/USDT',
      side: 'buy',
      amount: 0.001,
      price: 42_000.5,
      clientOrderId: 'bot-1234',
    };
    const trial = async (count: number): Promise<number> => {
      const target = rig.eventLog.lastSeq + count;
      const t0 = nowMs();
      const received = rig.waitForSeq(target);
      // Sliding window: wait for the publish PUBLISH_WINDOW back before adding one more. Only the window is held:
      // a publisher keeps no promise it no longer waits for (holding all n of them, and their events, made the
      // garbage collector part of what was measured).
      const window: Array<Promise<TradingEvent> | undefined> = new Array(PUBLISH_WINDOW);
      for (let i = 0; i < count; i++) {
        const slot = i % PUBLISH_WINDOW;
        if (i >= PUBLISH_WINDOW) await window[slot];
        window[slot] = rig.eventLog.publish('order.filled', `fill ${i}`, data);
      }
      await Promise.all(window);
      await received;
      return count / ((nowMs() - t0) / 1000);
    };
    await trial(Math.min(n, 2_000)); // warm-up (JIT, socket buffers), not measured
    const rates: number[] = [];
    for (let t = 0; t < THROUGHPUT_TRIALS; t++) rates.push(await trial(n));
    return summarize(rates);
  } finally {
    await rig.close();
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 2_000);
  const floor = await rawTcpEchoRoundTrip(n);
  const rt = await measureRoundTrip(n);
  const tp = await measureEventThroughput(Math.max(n, 1_000));
  const ms = (v: number): string => `${v.toFixed(3)} ms`;
  console.log(`raw TCP echo RTT  median ${ms(floor.median)}  p99 ${ms(floor.p99)}`);
  console.log(
    `IPC ping RTT      median ${ms(rt.median)}  p99 ${ms(rt.p99)}  (${(rt.median / floor.median).toFixed(2)}× floor)`,
  );
  console.log(
    `IPC events        median ${Math.round(tp.median).toLocaleString('en-US')} ev/s  (min ${Math.round(tp.min)}, max ${Math.round(tp.max)})`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
