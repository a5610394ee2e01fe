/**
 * live recovery: the shipped trading daemon in live mode under PM2 against a local exchange double (harness/exchanges,
 * its documented rate limits enforced) behind a latency proxy (50 ms round trip), 5 symbols and 20 resting orders,
 * SIGKILLed and measured as the restart bench measures (restart.ts: PM2's own instants, its backoff subtracted),
 * alternately with the bare floor app in the same PM2. Binance (the figure with the target): its exchangeInfo lists
 * 3,000 more markets than are traded (a real Binance lists ~3,400; the start asks for the traded ones by symbol) and
 * its used weight (X-MBX-USED-WEIGHT-1M) is read off every answer; Bybit and OKX: their per-endpoint limits. Besides
 * the time: the requests each recovery made and whether they went out with the markets load (markets kept on disk).
 * Any answer refusing a request for rate fails the section.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchContext } from '../bench';
import { binanceKit, bybitKit, okxKit } from '../../harness/exchanges/exchange-kits';
import { FakeBinance } from '../../harness/exchanges/fake-binance';
import type { FakeExchangeServer } from '../../harness/exchanges/fake-exchange-server';
import type { ExchangeKit } from '../../harness/exchanges/local-exchange';
import { LatencyProxy } from '../../harness/latency-proxy';
import { systemClock } from '../../src/shared/clock';
import { configSchema } from '../../src/shared/config/schema';
import { silentLogger } from '../../src/shared/logging/logger';
import { openTradingStateFiles } from '../../src/trading/engine/state/state-files';
import { createExchange } from '../../src/trading/exchange/factory';
import { placeRestingBuys } from './seed-orders';
import { restartOnce, writeBareScript } from './restart';
import { summarize, type Summary } from './stats';
import { startTradingUnderPm2 } from './trading-restart';

export const LIVE_SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'BNB/USDT', 'XRP/USDT'];
export const LIVE_OPEN_ORDERS = 20;
export const ROUND_TRIP_MS = 50;
/** Markets the local Binance lists besides the traded ones (a real Binance: ~3,400), so a markets load costs its CPU. */
export const LIVE_LISTED_MARKETS = 3_000;
const WEIGHT_LIMIT = 6_000;

/** An exchange the live recovery runs against: its double as the bench starts it, and how it refuses for rate. */
export interface LiveVenue {
  kit: ExchangeKit;
  name: string;
  start(): Promise<FakeExchangeServer<{ kind: string }, object>>;
  /** An answer refusing a request for rate, as the proxy sees it (status line or body). */
  refusal: RegExp;
  /** Binance: the used weight every answer carries, never to pass the limit. */
  weight?: { header: RegExp; limit: number };
}

export const BINANCE_VENUE: LiveVenue = {
  kit: binanceKit,
  name: 'Binance',
  start: () =>
    FakeBinance.start({
      ...binanceKit.credentials,
      symbols: LIVE_SYMBOLS,
      balances: { USDT: 1_000_000 },
      weightPerMinute: WEIGHT_LIMIT,
      listedMarkets: LIVE_LISTED_MARKETS,
    }),
  refusal: /^HTTP\/1\.1 (429|418) /gm,
  weight: { header: /x-mbx-used-weight-1m:\s*(\d+)/gi, limit: WEIGHT_LIMIT },
};

/** Bybit: 10006 "Too many visits!" (HTTP 200), its 403 IP ban. */
export const BYBIT_VENUE: LiveVenue = {
  kit: bybitKit,
  name: 'Bybit',
  start: () => bybitKit.start(venueOptions()) as Promise<FakeExchangeServer<{ kind: string }, object>>,
  refusal: /^HTTP\/1\.1 403 |"retCode":10006\b/gm,
};

/** OKX: 50011 "Too Many Requests" (HTTP 200 or 429). */
export const OKX_VENUE: LiveVenue = {
  kit: okxKit,
  name: 'OKX',
  start: () => okxKit.start(venueOptions()) as Promise<FakeExchangeServer<{ kind: string }, object>>,
  refusal: /^HTTP\/1\.1 429 |"code":"50011"/gm,
};

function venueOptions(): { symbols: string[]; balances: Record<string, number> } {
  return { symbols: LIVE_SYMBOLS, balances: { USDT: 1_000_000 } };
}

export interface LiveRecoveryFigures {
  trading: Summary;
  floor: Summary;
  /** Requests the exchange received from SIGKILL to ready, per restart. */
  requests: Summary;
  /** What they were, by the exchange's route, in the last restart. */
  routes: Record<string, number>;
  /** Recovery's own time (its `recovery` event), per restart. */
  recoveryMs: Summary;
  /** Binance: the highest X-MBX-USED-WEIGHT-1M any answer carried during the run, and the limit. */
  peakWeight?: number;
  weightLimit?: number;
  /** Connections opened through the proxy per restart (keep-alive: one per request in flight at once). */
  connections: Summary;
  /** From the first request of a restart reaching the exchange to PM2's online: the exchange's share. */
  exchangePhaseMs: Summary;
  /** From the restart (the kill plus PM2's backoff) to the first request reaching the exchange: the start's CPU. */
  beforeExchangeMs: Summary;
  /**
   * Restarts whose recovery reads reached the exchange within four round trips of the markets load (once the account
   * answered, while the markets answer was still being read; seen 110–160 ms after it, where without kept markets
   * they follow the markets answer's reading, ~700 ms with 3,000 markets): the kept markets were used.
   */
  keptMarketsUsed: number;
  /**
   * Restarts whose recovery reads left with the first reads: the first of them within half a round trip of the
   * first request, before the account's answer could be back (no refusal for rate kept: recovery-reads.ts).
   */
  withFirstReads: number;
}

export async function liveRecoveries(
  ctx: BenchContext,
  trials: number,
  venue: LiveVenue = BINANCE_VENUE,
): Promise<LiveRecoveryFigures> {
  const { kit } = venue;
  const fake = await venue.start();
  let peakWeight = 0;
  let refused = 0;
  const proxy = await LatencyProxy.start({
    target: fake.url,
    roundTripMs: ROUND_TRIP_MS,
    observe: (from, chunk) => {
      if (from !== 'server') return;
      const text = chunk.toString('latin1');
      if (venue.weight) {
        for (const m of text.matchAll(venue.weight.header)) peakWeight = Math.max(peakWeight, Number(m[1]));
      }
      refused += (text.match(venue.refusal) ?? []).length;
    },
  });
  try {
    const env = {
      BYNINJA_MODE: 'live',
      BYNINJA__TRADING__EXCHANGE: kit.id,
      BYNINJA__TRADING__EXCHANGE_API_URL: proxy.url,
      BYNINJA__TRADING__SYMBOLS: JSON.stringify(LIVE_SYMBOLS),
    };
    const t = await startTradingUnderPm2('byninja-bench-lr-', env, async (dataDir) => {
      // the key and secret where production has them: the .env file (never PM2's env)
      const { apiKey, secret, password } = kit.credentials;
      fs.appendFileSync(
        path.join(path.dirname(dataDir), '.env'),
        `EXCHANGE_API_KEY=${apiKey}\nEXCHANGE_SECRET=${secret}\n` +
          (password ? `EXCHANGE_PASSWORD=${password}\n` : ''),
      );
      ctx.log(`placing ${LIVE_OPEN_ORDERS} resting orders on ${venue.name} through the bot's order manager…`);
      await placeRestingOrders(dataDir, fake.url, kit);
    });
    try {
      const { session } = t;
      await session.harness.startScript('bare', writeBareScript(session.harness.root), {
        env: t.runtime.env,
        pm2Args: t.runtime.pm2Args,
      });
      const trading: number[] = [];
      const floor: number[] = [];
      const requests: number[] = [];
      const connections: number[] = [];
      const exchangePhase: number[] = [];
      const beforeExchange: number[] = [];
      let keptMarketsUsed = 0;
      let withFirstReads = 0;
      let routes: Record<string, number> = {};
      for (let i = 0; i < trials; i++) {
        const mark = fake.requests.length;
        const connectionsBefore = proxy.connections;
        const eventsBefore = session.events.length;
        const sample = await restartOnce(session, 'trading', {
          readyTimeoutMs: 120_000,
          beforeKill: async () => {
            const { status } = await t.probe.waitRunning(60_000);
            if (status.openOrders !== LIVE_OPEN_ORDERS) {
              throw new Error(
                `trading reports ${status.openOrders} open orders, expected ${LIVE_OPEN_ORDERS}`,
              );
            }
          },
        });
        trading.push(sample.ms);
        const online = session.events
          .slice(eventsBefore)
          .find((e) => e.name === 'trading' && e.event === 'online')!;
        // the new process's requests only: after the kill (restartOnce's own instants), up to PM2's online
        const killedAt = online.at - sample.ms - sample.restartDelayMs;
        const made = fake.requests.slice(mark).filter((r) => r.at >= killedAt && r.at <= online.at);
        requests.push(made.length);
        if (made.length > 0) {
          exchangePhase.push(online.at - made[0].at);
          beforeExchange.push(made[0].at - (online.at - sample.ms));
        }
        const marketsAt = made.find((r) => r.route === fake.routeName('markets'))?.at;
        // recovery's first read: its open orders or a symbol's recent ones (Bybit and OKX read a symbol's history
        // only once its open list answered)
        const recoveryRoutes = new Set([fake.routeName('openOrders'), fake.routeName('recentOrders')]);
        const recentAt = made.find((r) => recoveryRoutes.has(r.route))?.at;
        if (marketsAt !== undefined && recentAt !== undefined && recentAt - marketsAt < ROUND_TRIP_MS * 4) {
          keptMarketsUsed += 1;
        }
        if (recentAt !== undefined && made.length > 0 && recentAt - made[0].at < ROUND_TRIP_MS / 2) {
          withFirstReads += 1;
        }
        connections.push(proxy.connections - connectionsBefore);
        routes = {};
        for (const r of made) routes[r.route] = (routes[r.route] ?? 0) + 1;
        floor.push((await restartOnce(session, 'bare')).ms);
      }
      if (refused > 0) throw new Error(`the exchange refused ${refused} request(s) over its rate limit`);
      // a correctness check, not a timing: start-up must never take the account above the exchange's budget
      if (venue.weight && peakWeight > venue.weight.limit) {
        throw new Error(
          `used weight reached ${peakWeight}, above the exchange's limit of ${venue.weight.limit}`,
        );
      }
      return {
        trading: summarize(trading),
        floor: summarize(floor),
        requests: summarize(requests),
        routes,
        recoveryMs: summarize(recoveryDurations(session.harness.dataDir).slice(-trials)),
        ...(venue.weight ? { peakWeight, weightLimit: venue.weight.limit } : {}),
        connections: summarize(connections),
        exchangePhaseMs: summarize(exchangePhase),
        beforeExchangeMs: summarize(beforeExchange),
        keptMarketsUsed,
        withFirstReads,
      };
    } finally {
      await t.session.stop();
    }
  } finally {
    await proxy.close();
    await fake.close();
  }
}

/**
 * LIVE_OPEN_ORDERS limit buys at half the market, spread over LIVE_SYMBOLS, placed by the engine's own OrderManager
 * through the live adapter (so the state file and the exchange hold the same orders), the state bound to the
 * exchange account as the daemon binds it.
 */
async function placeRestingOrders(dataDir: string, exchangeUrl: string, kit: ExchangeKit): Promise<void> {
  const config = configSchema().parse({
    trading: { mode: 'live', exchange: kit.id, exchangeApiUrl: exchangeUrl, symbols: LIVE_SYMBOLS },
  });
  const logger = silentLogger();
  const files = await openTradingStateFiles(dataDir, logger, systemClock);
  const secrets = {
    exchangeApiKey: kit.credentials.apiKey,
    exchangeSecret: kit.credentials.secret,
    ...(kit.credentials.password ? { exchangePassword: kit.credentials.password } : {}),
  };
  const exchange = await createExchange(config.trading, secrets, { dataDir, logger, clock: systemClock });
  try {
    const markets = await exchange.loadMarkets();
    const account = await exchange.accountId();
    await files.store.commit((d) => {
      d.identity = { mode: 'live', exchange: exchange.id, sandbox: config.trading.sandbox, account };
    });
    await placeRestingBuys({
      files,
      exchange,
      markets,
      config,
      symbols: LIVE_SYMBOLS,
      count: LIVE_OPEN_ORDERS,
      logger,
    });
  } finally {
    await exchange.close();
    await files.close();
  }
}

/** durationMs of every `recovery` event in the data dir's event log, oldest first. */
function recoveryDurations(dataDir: string): number[] {
  const file = path.join(dataDir, 'events.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"recovery"'))
    .map((line) => {
      try {
        const e = JSON.parse(line) as { type?: string; data?: { durationMs?: number } };
        return e.type === 'recovery' ? e.data?.durationMs : undefined;
      } catch {
        return undefined;
      }
    })
    .filter((ms): ms is number => typeof ms === 'number');
}
