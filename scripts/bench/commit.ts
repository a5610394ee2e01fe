/**
 * commit: one durable order transition (Store.commit of the hot state) with 0 / 10k / 100k closed trades in the
 * history Journal, against the floor of a raw 4 KiB write + fsync + rename + directory fsync — the least any
 * crash-safe replace of a file can cost on this disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal } from '../../src/shared/persistence/journal';
import { Store } from '../../src/shared/persistence/store';
import { systemClock } from '../../src/shared/clock';
import { silentLogger } from '../../src/shared/logging/logger';
import type { LocalOrder } from '../../src/trading/engine/orders/order-state';
import type { Fill } from '../../src/trading/engine/books/pnl';
import {
  defaultTradingState,
  HISTORY_JOURNAL_NAME,
  STATE_STORE_NAME,
  STATE_VERSION,
  validateTradingState,
  type HistoryEntry,
  type TradingState,
} from '../../src/trading/engine/state/trading-state';
import { nowMs, summarize, type Summary } from './stats';

/** One raw durable replace of a 4 KiB file: write, fsync, rename, fsync the directory. */
async function rawDurableReplace(target: string, dirFd: number, payload: Buffer, i: number): Promise<void> {
  const tmp = `${target}.${i}.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  await fh.writeFile(payload);
  await fh.sync();
  await fh.close();
  await fs.promises.rename(tmp, target);
  fs.fsyncSync(dirFd);
}

export function order(i: number, status: LocalOrder['status']): LocalOrder {
  const id = `bench-${i}`;
  const fills: Fill[] =
    status === 'filled'
      ? [
          {
            orderId: `x${i}`,
            clientOrderId: id,
            tradeId: `t${i}`,
            symbol: 'BTC/USDT',
            side: 'buy',
            price: 50_000,
            amount: 0.002,
            feeCost: 0.1,
            feeCurrency: 'USDT',
            timestamp: i,
          },
        ]
      : [];
  return {
    clientOrderId: id,
    exchangeOrderId: `x${i}`,
    symbol: 'BTC/USDT',
    side: 'buy',
    type: 'limit',
    amount: 0.002,
    price: 50_000,
    filled: status === 'filled' ? 0.002 : 0,
    status,
    purpose: 'entry',
    createdAt: i,
    updatedAt: i,
    fills,
  };
}

/** Appends `count` closed (filled) orders to trading's history journal, as the engine archives them. */
export async function appendHistory(journal: Journal<HistoryEntry>, count: number): Promise<void> {
  for (let done = 0; done < count;) {
    const batch = Math.min(10_000, count - done);
    await journal.append(
      Array.from({ length: batch }, (_, k) => ({
        kind: 'order' as const,
        archivedAt: done + k,
        order: order(done + k, 'filled'),
        // the state's seq at archiving (0: these ids are not the bot's own), so recovery reads only the tail
        seq: 0,
      })),
    );
    done += batch;
  }
}

/**
 * Median cost of one durable order transition (open ↔ filled of one order, as the engine commits it) in
 * trading's real hot state, with `history` closed orders in trading's real history journal beside it.
 */
export async function storeCommit(
  dir: string,
  history: number,
  trials: number,
): Promise<{ commit: number[]; floor: number[] }> {
  const journal = await Journal.open<HistoryEntry>(dir, HISTORY_JOURNAL_NAME);
  await appendHistory(journal, history);
  const store = await Store.open<TradingState>({
    dir,
    name: STATE_STORE_NAME,
    version: STATE_VERSION,
    defaults: defaultTradingState,
    validate: validateTradingState,
    logger: silentLogger(),
    clock: systemClock,
  });
  // A typical hot state: a handful of open orders and some recent final ones.
  await store.commit((d) => {
    for (let k = 0; k < 10; k++) d.orders[`bench-${k}`] = order(k, k < 5 ? 'open' : 'filled');
    d.seq = 10;
  });
  const floorFile = path.join(dir, 'floor.json');
  const payload = Buffer.alloc(4096, 'x');
  const dirFd = fs.openSync(dir, 'r');
  try {
    // Floor and commit alternate, so a noisy moment of the disk (writeback of the journal just written) hits both.
    const commit: number[] = [];
    const floor: number[] = [];
    for (let i = -3; i < trials; i++) {
      let t0 = nowMs();
      await rawDurableReplace(floorFile, dirFd, payload, i);
      const f = nowMs() - t0;
      t0 = nowMs();
      await store.commit((d) => {
        const k = Math.abs(i) % 5;
        const o = d.orders[`bench-${k}`];
        d.orders[o.clientOrderId] = {
          ...order(k, o.status === 'open' ? 'filled' : 'open'),
          updatedAt: Date.now(),
        };
      });
      const c = nowMs() - t0;
      if (i >= 0) {
        floor.push(f);
        commit.push(c);
      }
    }
    if (journal.count() !== history)
      throw new Error(`journal holds ${journal.count()} entries, expected ${history}`);
    return { commit, floor };
  } finally {
    fs.closeSync(dirFd);
    await store.close();
    await journal.close();
  }
}

export interface CommitFigures {
  /** All floor samples of the run. */
  floor: Summary;
  byHistory: Array<{ history: number; summary: Summary; floor: Summary }>;
}

export async function benchCommit(trials = 30, histories = [0, 10_000, 100_000]): Promise<CommitFigures> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-bench-commit-'));
  try {
    const allFloor: number[] = [];
    const byHistory: CommitFigures['byHistory'] = [];
    for (const history of histories) {
      const dir = fs.mkdtempSync(path.join(root, `h${history}-`));
      const { commit, floor } = await storeCommit(dir, history, trials);
      allFloor.push(...floor);
      byHistory.push({ history, summary: summarize(commit), floor: summarize(floor) });
    }
    return { floor: summarize(allFloor), byHistory };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
