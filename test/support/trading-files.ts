/**
 * Reading what a trading daemon left on disk (state envelope, history journal, events), and asking it to
 * reconcile over the real TCP layer: for tests that run the daemon as a process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { IpcClient, type IpcClientOptions } from '../../src/shared/ipc/client';
import type { ReconcileDifference, TradingEvent } from '../../src/shared/ipc/protocol';
import { silentLogger } from '../../src/shared/logging/logger';
import type { LocalOrder } from '../../src/trading/engine/orders/order-state';
import type { HistoryEntry, TradingState } from '../../src/trading/engine/state/trading-state';
import { GATE_FILE } from '../../src/trading/exchange/gate-file';

export function readEnvelope<T>(file: string): T {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { data: T }).data;
}

export function readJsonl<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/** The trading state and every order it knows (history journal first, then hot state). */
export function localOrders(dataDir: string): { state: TradingState; orders: Map<string, LocalOrder> } {
  const state = readEnvelope<TradingState>(path.join(dataDir, 'trading-state.json'));
  const orders = new Map<string, LocalOrder>();
  for (const e of readJsonl<HistoryEntry>(path.join(dataDir, 'trading-history.jsonl')))
    orders.set(e.order.clientOrderId, e.order);
  for (const o of Object.values(state.orders)) orders.set(o.clientOrderId, o);
  return { state, orders };
}

/** `reconcile` over the daemon's TCP layer. */
export function reconcileOverTcp(
  port: number,
  token: string,
): Promise<{ differences: ReconcileDifference[] }> {
  return callOverTcp(port, token, (client) => client.call('reconcile', {}));
}

/**
 * One session with the daemon's TCP layer; `session.cursor` subscribes to its events from there, heard by
 * `session.onEvent` from the connection on (the replay included).
 */
export async function callOverTcp<T>(
  port: number,
  token: string,
  fn: (client: IpcClient) => Promise<T>,
  session: Pick<IpcClientOptions, 'cursor'> & { onEvent?: (event: TradingEvent) => void } = {},
): Promise<T> {
  const client = new IpcClient({
    host: '127.0.0.1',
    port,
    token,
    client: 'test',
    requestTimeoutMs: 10_000,
    heartbeatMs: 60_000,
    reconnect: false,
    logger: silentLogger(),
    clock: systemClock,
    ...(session.cursor ? { cursor: session.cursor } : {}),
  });
  if (session.onEvent) client.on('event', session.onEvent);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/**
 * The rate-limit wait a start keeps (gate-file.ts) as a run refused for rate `hoursAgo` hours ago left it: its
 * closing long over, but within the day that makes a start send its reads one wave after another.
 */
export function keepRefusalFrom(dataDir: string, exchangeId: string, hoursAgo: number): void {
  const at = Date.now() - hoursAgo * 3_600_000;
  fs.writeFileSync(
    path.join(dataDir, GATE_FILE),
    JSON.stringify({ version: 1, gates: { [exchangeId]: { closedUntil: at + 60_000, savedAt: at } } }),
  );
}
