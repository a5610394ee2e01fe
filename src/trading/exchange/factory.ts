/**
 * Builds the Exchange for the configured mode; the composition root calls this and the engine never learns
 * which one it got.
 * - paper   (default) built-in paper exchange on the simulated market, account in <paperDir>/paper-exchange.json
 * - dry-run public data of a ccxt exchange + paper fills, account in <paperDir>/dry-run-exchange.json
 * <paperDir> is trading.paper.dataDir when set, else the bot's data dir: the account file stands for the
 * exchange's own storage, which a real exchange keeps apart from the bot's disk; the account's lock creates it
 * (StoreLock.acquire, synchronous: an awaited mkdir here was a thread-pool round trip on every paper start).
 * - live    ccxt with EXCHANGE_API_KEY / EXCHANGE_SECRET (/ EXCHANGE_PASSWORD); its markets kept between runs in
 *           <dataDir>/trading-markets.json (kept-markets.ts)
 */
import type { Clock } from '../../shared/clock';
import type { Config, Secrets } from '../../shared/config/schema';
import { byninjaVersion } from '../../ops/version';
import { ConfigError } from '../../shared/errors';
import { timeframeProblem } from './candle-intervals';
import type { Logger } from '../../shared/logging/logger';
import { CcxtExchange } from './ccxt-exchange';
import { profileFor, verifiedExchangeIds } from './profiles';
import { openDryRunExchange } from './dry-run-exchange';
import type { Exchange } from './exchange';
import { GateFile } from './gate-file';
import { KeptMarketsFile } from './kept-markets';
import { PaperExchange } from './paper-exchange';
import { SimulatedPriceFeed } from './price-feed';
import { SimulatedMarket } from './simulated-market';

/** Connections a live start opens ahead at most (spare-connections.ts). */
const MAX_SPARE_CONNECTIONS = 16;

export interface CreateExchangeDeps {
  /** The bot's data dir: home of the paper/dry-run account unless config.paper.dataDir names another. */
  dataDir: string;
  logger: Logger;
  /** The daemon's one clock (the composition root passes systemClock; tests a fake where time matters). */
  clock: Clock;
}

export async function createExchange(
  config: Config['trading'],
  secrets: Secrets,
  deps: CreateExchangeDeps,
): Promise<Exchange> {
  const logger = deps.logger.child({ module: 'exchange' });
  const paperDir = config.paper.dataDir ?? deps.dataDir;
  const ccxtCommon = {
    exchangeId: config.exchange,
    sandbox: config.sandbox,
    apiUrl: config.exchangeApiUrl,
    timeoutMs: config.orders.createTimeoutMs,
  };

  switch (config.mode) {
    case 'paper': {
      const market = new SimulatedMarket({
        seed: config.paper.seed,
        volatility: config.paper.volatility,
        candleMs: config.paper.candleMs,
      });
      const exchange = await PaperExchange.open({
        dataDir: paperDir,
        feed: new SimulatedPriceFeed(market, config.symbols),
        settings: config.paper,
        clock: deps.clock,
        logger,
      });
      logger.info(
        `Paper trading on the built-in simulated market (seed ${config.paper.seed}, one candle every ${config.paper.candleMs} ms): no real orders`,
      );
      return exchange;
    }
    case 'dry-run': {
      const exchange = await openDryRunExchange({
        dataDir: paperDir,
        ccxt: ccxtCommon,
        settings: config.paper,
        periodMs: config.paper.candleMs,
        timeframe: config.timeframe,
        clock: deps.clock,
        logger,
      });
      logger.info(`Dry run: ${config.exchange} market data, paper fills: no real orders`);
      return exchange;
    }
    case 'live': {
      const profile = profileFor(config.exchange);
      if (!profile) {
        // recovery by clientOrderId, fills, fees and refusals are verified per exchange: no profile, no live orders
        throw new ConfigError([
          {
            field: 'trading.exchange',
            value: config.exchange,
            message: `live trading runs only on a verified exchange: ${verifiedExchangeIds().join(', ')} (dry-run works with any ccxt exchange)`,
          },
        ]);
      }
      const needed: Array<[keyof Secrets, string, string]> = [
        [
          'exchangeApiKey',
          'EXCHANGE_API_KEY',
          'live mode needs the exchange API key and secret in the environment',
        ],
        [
          'exchangeSecret',
          'EXCHANGE_SECRET',
          'live mode needs the exchange API key and secret in the environment',
        ],
      ];
      if (profile.password) {
        needed.push([
          'exchangePassword',
          'EXCHANGE_PASSWORD',
          `${profile.name} signs every private request with the ${profile.password}: put it in the environment`,
        ]);
      }
      const unset = needed.filter(([key]) => !secrets[key]);
      if (unset.length > 0) {
        throw new ConfigError(unset.map(([, env, message]) => ({ field: env, value: '(unset)', message })));
      }
      const exchange = await CcxtExchange.create({
        ...ccxtCommon,
        // every read of the start on a connection opened ahead: markets and the account, then recovery's at once
        // (the recent orders of each symbol, the open orders, the balance). Not counting on the first batch's
        // connections for the second: undici checks an idle connection for one event-loop turn before reusing it,
        // and a burst sent meanwhile opens new ones (at most 16: more would not go out at once under the
        // exchange's rate limit anyway)
        spareConnections: Math.min(config.symbols.length + 4, MAX_SPARE_CONNECTIONS),
        // and those reads themselves sent before ccxt loads, where the profile says how (early-reads.ts)
        earlyReadSymbols: config.symbols,
        profile,
        // a restart's recovery reads need not wait for the markets: kept no older than a running trading keeps them
        keptMarkets: new KeptMarketsFile({
          dataDir: deps.dataDir,
          symbols: config.symbols,
          appVersion: byninjaVersion(),
          maxAgeMs: config.marketsRefreshMs,
          clock: deps.clock,
          logger,
        }),
        // an IP ban outlives a restart: the next start waits it out instead of sending into it
        gateFile: new GateFile({
          dataDir: deps.dataDir,
          exchangeId: config.exchange,
          clock: deps.clock,
          logger,
        }),
        apiKey: secrets.exchangeApiKey,
        secret: secrets.exchangeSecret,
        password: secrets.exchangePassword,
        clock: deps.clock,
        logger,
      });
      const capabilities = exchange.capabilities();
      const missing = Object.entries(capabilities).filter(([, ok]) => !ok);
      logger.info(`Exchange ${config.exchange} capabilities`, { capabilities });
      const timeframe = timeframeProblem(config.exchange, config.timeframe, exchange.candleIntervals());
      if (missing.length > 0 || timeframe) {
        await exchange.close();
        throw new ConfigError([
          ...missing.map(([name]) => ({
            field: 'trading.exchange',
            value: config.exchange,
            message: `ccxt ${config.exchange} cannot ${name}, which live trading needs (recovery and fills rely on it)`,
          })),
          ...(timeframe ? [timeframe] : []),
        ]);
      }
      logger.warn(`LIVE trading on ${config.exchange}${config.sandbox ? ' (sandbox)' : ''}: real orders`);
      return exchange;
    }
  }
}
