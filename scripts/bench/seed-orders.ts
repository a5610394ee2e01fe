/**
 * Seeds a data dir with `count` open limit orders far below the market. One order per symbol goes through the
 * engine's own OrderManager and the paper exchange (so both files hold exactly what real trading writes); the
 * rest are clones of those with fresh ids, written to both stores at once (placing them one by one would time
 * 1,000 durable commits of the seeding, not the restart).
 * Used by the restart benchmark: recovery must fetch and check every one of them before `ready`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/shared/clock';
import { configSchema, type Config } from '../../src/shared/config/schema';
import { silentLogger, type Logger } from '../../src/shared/logging/logger';
import { Store } from '../../src/shared/persistence/store';
import type { LocalOrder } from '../../src/trading/engine/orders/order-state';
import { paperAccountSchema, type PaperAccount } from '../../src/trading/exchange/paper-account';
import { wireOrders } from '../../src/trading/engine/orders/order-parts';
import type { Exchange, Market } from '../../src/trading/exchange/exchange';
import { openTradingStateFiles, type TradingStateFiles } from '../../src/trading/engine/state/state-files';
import { clientOrderIdFor } from '../../src/trading/engine/state/trading-state';
import { createExchange } from '../../src/trading/exchange/factory';
import { Journal } from '../../src/shared/persistence/journal';
import { HISTORY_JOURNAL_NAME, type HistoryEntry } from '../../src/trading/engine/state/trading-state';
import { appendHistory } from './commit';
import { EventLog } from '../../src/shared/ipc/event-log';

/**
 * Config overrides the seeded daemon must run with (as BYNINJA__ env): enough paper cash for the orders, and a limit
 * order lifetime longer than the bench (the default 60 s cancels the seeded orders, paused or not, once a section's
 * restarts take longer than that: 15 rounds with 1,000 orders did, and a slow host may with 7).
 */
export const SEED_ENV: Record<string, string> = {
  BYNINJA__TRADING__PAPER__STARTING_BALANCES: JSON.stringify({ USDT: 10_000_000 }),
  BYNINJA__TRADING__ORDERS__LIMIT_ORDER_TTL_MS: String(24 * 3_600_000),
};

/**
 * `count` small limit buys at half the market price (never filled during a benchmark), spread over `symbols`, placed
 * through the bot's own order manager (so the state file and the exchange hold the same orders), each sized just
 * above its market's minimums.
 */
export async function placeRestingBuys(opts: {
  files: TradingStateFiles;
  exchange: Exchange;
  markets: Record<string, Market>;
  config: Config;
  symbols: readonly string[];
  count: number;
  logger: Logger;
}): Promise<void> {
  const { exchange, markets, config } = opts;
  const { manager } = wireOrders({
    exchange,
    store: opts.files.store,
    history: opts.files.history,
    publisher: { publish: async () => undefined },
    markets,
    botId: config.app.botId,
    orders: config.trading.orders,
    lookupTimeoutMs: config.trading.symbolReadTimeoutMs,
    clock: systemClock,
    logger: opts.logger,
  });
  manager.startAccepting();
  for (let i = 0; i < opts.count; i++) {
    const symbol = opts.symbols[i % opts.symbols.length];
    const market = markets[symbol];
    const last = (await exchange.fetchTicker(symbol)).last;
    const price = Math.round((last * 0.5) / market.priceStep) * market.priceStep;
    const minAmount = Math.max(market.minAmount, market.minNotional / price);
    const amount = Math.ceil((minAmount * 1.2) / market.amountStep) * market.amountStep;
    const order = await manager.place({
      symbol,
      side: 'buy',
      type: 'limit',
      amount,
      price,
      purpose: 'entry',
      reason: 'benchmark seed',
    });
    if (order.status !== 'open')
      throw new Error(`seed order ${order.clientOrderId} is ${order.status}: ${order.error ?? ''}`);
  }
}

export async function seedOpenOrders(dataDir: string, count: number): Promise<void> {
  const config: Config = configSchema().parse({
    trading: { paper: { startingBalances: { USDT: 10_000_000 } } },
  });
  const logger = silentLogger();
  const files = await openTradingStateFiles(dataDir, logger, systemClock);
  const exchange = await createExchange(config.trading, {}, { dataDir, logger, clock: systemClock });
  try {
    const markets = await exchange.loadMarkets();
    const symbols = config.trading.symbols;
    await placeRestingBuys({
      files,
      exchange,
      markets,
      config,
      symbols,
      count: Math.min(count, symbols.length),
      logger,
    });
  } finally {
    await exchange.close();
    await files.close();
  }
  if (count > config.trading.symbols.length) await cloneOrders(dataDir, count, config.app.botId, logger);
  await verifySeed(dataDir, count, config, logger);
}

function envelopeVersion(file: string): number {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number }).version;
}

/** Grows the seeded orders to `count` by cloning the real ones into both files, funds reserved as the exchange does. */
async function cloneOrders(dataDir: string, count: number, botId: string, logger: Logger): Promise<void> {
  const paperFile = path.join(dataDir, 'paper-exchange.json');
  const paper = await Store.open<PaperAccount>({
    dir: dataDir,
    name: 'paper-exchange',
    version: envelopeVersion(paperFile),
    defaults: () => {
      throw new Error('paper account missing');
    },
    validate: (d) => paperAccountSchema.parse(d),
    logger,
    clock: systemClock,
  });
  const files = await openTradingStateFiles(dataDir, logger, systemClock);
  try {
    const templates = Object.values(files.store.data.orders);
    const clones: Array<{ local: LocalOrder; remote: PaperAccount['orders'][string] }> = [];
    let seq = files.store.data.seq;
    let nextId = paper.data.nextOrderId;
    for (let i = templates.length; i < count; i++) {
      const template = templates[i % templates.length];
      const remoteTemplate = paper.data.orders[template.exchangeOrderId!];
      const clientOrderId = clientOrderIdFor(botId, files.store.data.installId, ++seq);
      const id = String(nextId++);
      clones.push({
        local: { ...template, clientOrderId, exchangeOrderId: id, fills: [] },
        remote: {
          ...remoteTemplate,
          id,
          clientOrderId,
          trades: [],
          reserved: { ...remoteTemplate.reserved },
        },
      });
    }
    await paper.commit((d) => {
      for (const { remote } of clones) {
        d.orders[remote.id] = remote;
        d.byClientId[remote.clientOrderId] = remote.id;
        const bal = d.balances[remote.reserved.currency];
        bal.free -= remote.reserved.amount;
        bal.used += remote.reserved.amount;
      }
      d.nextOrderId = nextId;
    });
    await files.store.commit((d) => {
      for (const { local } of clones) d.orders[local.clientOrderId] = local;
      d.seq = seq;
    });
  } finally {
    await paper.close();
    await files.close();
  }
}

async function verifySeed(dataDir: string, count: number, config: Config, logger: Logger): Promise<void> {
  const exchange = await createExchange(config.trading, {}, { dataDir, logger, clock: systemClock });
  try {
    const open = (await exchange.fetchOpenOrders()).length;
    if (open !== count) throw new Error(`seeded ${count} orders but the paper exchange has ${open} open`);
  } finally {
    await exchange.close();
  }
}

/** Seeds trading's history journal with `count` closed orders (a long-running bot's archive). */
export async function seedHistory(dataDir: string, count: number): Promise<void> {
  const journal = await Journal.open<HistoryEntry>(dataDir, HISTORY_JOURNAL_NAME);
  try {
    await appendHistory(journal, count);
  } finally {
    await journal.close();
  }
}

/**
 * `count` trading events in the event log, as a trading that ran for weeks holds (its retention, 10,000 by default):
 * published through the real EventLog, a burst per thousand.
 */
export async function seedEvents(dataDir: string, count: number): Promise<void> {
  const log = await EventLog.open(dataDir, { retention: count, clock: systemClock });
  try {
    for (let done = 0; done < count; done += 1_000) {
      const burst: Array<Promise<unknown>> = [];
      for (let i = done; i < Math.min(count, done + 1_000); i++) {
        burst.push(
          log.publish('order.filled', `BTC/USDT buy 0.001 @ 60000.00 filled (${i})`, {
            symbol: 'BTC/USDT',
            side: 'buy',
            amount: 0.001,
            price: 60_000,
            clientOrderId: `bnbench-${i}`,
            orderId: String(1_000_000 + i),
            purpose: 'entry',
            eventKey: `order.filled:bnbench-${i}`,
          }),
        );
      }
      await Promise.all(burst);
    }
  } finally {
    await log.close();
  }
}
