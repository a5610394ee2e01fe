/**
 * The one configuration schema of ByNinja: every field, its default and a line saying what it is for.
 * `config.example.json` and `.env.example` document the same fields; `test/shared/config` keeps them in step.
 *
 * Every object is strict: an unknown key (a typo such as `stakePerTrad`) is an error, never silently ignored.
 *
 * Secrets (exchange keys, bot token, IPC token) are NOT part of this schema: they only come from the
 * environment and live in `Secrets` (see loader.ts), so a `Config` can be logged, shown and handed around.
 */
import * as z from 'zod';

const NOTIFY_LEVELS = ['on', 'silent', 'off'] as const;
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

/**
 * One quote currency for every traded symbol, each listed once: the stake, equity, exposure and the daily loss limit
 * are amounts of that one currency, and an ETH/BTC entry beside BTC/USDT would be sized at `stakePerTrade` BTC and
 * paid with the coins of the bot's own BTC position.
 */
function checkSymbolList(symbols: string[], ctx: z.RefinementCtx): void {
  const quoteOf = (s: string): string | undefined => /^[A-Z0-9]+\/([A-Z0-9]+)$/.exec(s)?.[1];
  const quote = quoteOf(symbols[0] ?? '');
  symbols.forEach((symbol, i) => {
    if (symbols.indexOf(symbol) !== i) {
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `${symbol} is listed twice: list each symbol once`,
      });
      return;
    }
    const own = quoteOf(symbol);
    if (quote === undefined || own === undefined || own === quote) return;
    ctx.addIssue({
      code: 'custom',
      path: [i],
      message:
        `${symbol} is quoted in ${own} but ${symbols[0]} in ${quote}: every symbol must share one quote currency ` +
        `(stakePerTrade, equity and the loss limits are counted in it), e.g. ${symbol.split('/')[0]}/${quote}`,
    });
  });
}

/**
 * OKX takes a create until its `expTime` (the adapter sends signing time + 5 s), and a host clock up to 30 s ahead of
 * OKX's is never refused (50102 only beyond 30 s) until the offset is measured: such a create may still be carried
 * out up to 35 s after we sent it. An unknown order declared never placed sooner could be placed again beside it.
 */
export const OKX_CREATE_REACH_MS = 35_000;

function checkCreateExpiry(
  trading: { mode: string; exchange: string; orders: { unknownNotFoundWindowMs: number } },
  ctx: z.RefinementCtx,
): void {
  const window = trading.orders.unknownNotFoundWindowMs;
  // only live sends creates (dry-run fills them on paper)
  if (trading.mode !== 'live' || trading.exchange !== 'okx' || window >= OKX_CREATE_REACH_MS) return;
  ctx.addIssue({
    code: 'custom',
    path: ['orders', 'unknownNotFoundWindowMs'],
    message:
      `${window} ms is shorter than an OKX create can still be carried out after it was sent (its 5 s expTime plus ` +
      `up to 30 s of host clock ahead of OKX's, never refused): set it to at least ${OKX_CREATE_REACH_MS}`,
  });
}

/**
 * The schema, built on first use (`configSchema()`), not when this module loads: a daemon whose configuration is
 * unchanged since its last start takes it validated from the cache (validated-config-cache.ts) and never builds it —
 * zod's construction of its ~150 fields in cold code was ~3 ms of main-thread CPU of every start.
 */
export function configSchema(): ConfigSchema {
  return (built ??= buildConfigSchema());
}
let built: ConfigSchema | undefined;
export type ConfigSchema = ReturnType<typeof buildConfigSchema>;

function buildConfigSchema() {
  const notify = z.enum(NOTIFY_LEVELS);
  const positiveInt = z.number().int().positive();
  const nonNegative = z.number().nonnegative();
  const pct = z.number().positive().max(100);
  const loopbackHost = () =>
    z
      .string()
      .refine((h) => LOOPBACK_HOSTS.includes(h), 'must be a loopback address (127.0.0.1, localhost or ::1)')
      .default('127.0.0.1');
  const port = (byDefault: number) => z.number().int().min(1).max(65535).default(byDefault);
  return z.strictObject({
    app: z
      .strictObject({
        /** Prefix of every clientOrderId (`<botId>-<seq>`); letters and digits only, ≤ 16 chars. */
        botId: z
          .string()
          .regex(/^[A-Za-z0-9]{1,16}$/, 'use 1–16 letters or digits (it prefixes every clientOrderId)')
          .default('byninja'),
        /** Where runtime state lives (env BYNINJA_DATA_DIR). */
        dataDir: z.string().min(1).default('./data'),
        /** Where log files live (env BYNINJA_LOG_DIR). */
        logDir: z.string().min(1).default('./logs'),
      })
      .prefault({}),

    logging: z
      .strictObject({
        /** Minimum level written: error, warn, info, debug. */
        level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
        /** Size at which a JSON log file is rotated. */
        fileMaxBytes: positiveInt.default(10 * 1024 * 1024),
        /** Rotated JSON log files kept per service. */
        fileMaxFiles: positiveInt.default(5),
        /** Size at which PM2's own out/err file of a service is rotated (copy + truncate). */
        pm2LogMaxBytes: positiveInt.default(10 * 1024 * 1024),
        /** Rotated PM2 out/err files kept per service. */
        pm2LogKeep: positiveInt.default(3),
        /** How often a service checks the size of its PM2 out/err files. */
        pm2LogCheckMs: positiveInt.min(100).default(10_000),
      })
      .prefault({}),

    lifecycle: z
      .strictObject({
        /** Total time the shutdown steps may take; must stay below PM2's kill_timeout (8000 ms). */
        shutdownBudgetMs: positiveInt.max(7000).default(5000),
        /** Main-thread stall after which the watchdog writes a breadcrumb and kills the process. */
        watchdogStallMs: positiveInt.min(500).default(10_000),
      })
      .prefault({}),

    ipc: z
      .strictObject({
        /** Address trading listens on. Loopback only: the protocol is not meant for a network. */
        host: loopbackHost(),
        /** TCP port (env BYNINJA_IPC_PORT). */
        port: port(47_800),
        /** Longest accepted line; longer frames get an error and the connection is closed. */
        maxFrameBytes: positiveInt.default(1024 * 1024),
        /** Most simultaneous clients; more are refused. */
        maxClients: positiveInt.default(16),
        /** A client silent for this long is disconnected (heartbeats keep it alive). */
        idleTimeoutMs: positiveInt.default(60_000),
        /** A request without an answer after this long fails with a timeout on the client. */
        requestTimeoutMs: positiveInt.default(5_000),
        /** Client heartbeat (ping) interval. */
        heartbeatMs: positiveInt.default(2_000),
        /** Trading events kept durably for replay to clients that were away. */
        eventRetention: positiveInt.default(10_000),
      })
      .prefault({}),

    http: z
      .strictObject({
        /** Each daemon serves /health and /metrics (Prometheus) over HTTP on loopback; false: no HTTP at all. */
        enabled: z.boolean().default(true),
        /** Address the HTTP endpoints listen on. Loopback only: put a reverse proxy in front to expose them. */
        host: loopbackHost(),
        /** Port of trading's /health and /metrics. */
        tradingPort: port(47_801),
        /** Port of telegram's /health and /metrics. */
        telegramPort: port(47_802),
      })
      .prefault({}),

    trading: z
      .strictObject({
        /** paper: built-in simulated exchange (offline); dry-run: real public data, paper fills; live: real orders. */
        mode: z.enum(['paper', 'dry-run', 'live']).default('paper'),
        /** ccxt exchange id for dry-run and live (e.g. binance, kraken). */
        exchange: z.string().min(1).default('binance'),
        /** Override of the exchange's REST API base URL (self-hosted gateways, tests). */
        exchangeApiUrl: z.string().url().optional(),
        /** Use the exchange's sandbox/testnet when ccxt supports it. */
        sandbox: z.boolean().default(false),
        /** Markets traded, ccxt unified symbols, each once and all in one quote currency (the stake's). */
        symbols: z
          .array(z.string().regex(/^[A-Z0-9]+\/[A-Z0-9]+$/, 'use BASE/QUOTE, e.g. BTC/USDT'))
          .min(1)
          .superRefine(checkSymbolList)
          .default(['BTC/USDT', 'ETH/USDT']),
        /**
         * Candle timeframe the strategy reads: a number and a unit, as ccxt names them. Live and dry-run starts also
         * check that the exchange serves it (candle-intervals.ts).
         */
        timeframe: z
          .string()
          .regex(/^[1-9][0-9]*[smhdwMy]$/, 'use a number and a unit (s, m, h, d, w, M), e.g. 1m, 15m, 1h, 1d')
          .default('1m'),
        /** Time between engine ticks. */
        tickIntervalMs: positiveInt.min(50).default(2_000),
        /**
         * Candles fetched per tick for the strategy: at least its period + 2 (the newest is still forming), within what
         * the exchange answers in one read (Binance/Bybit 1000, OKX 300) — checked at start (strategy/candle-needs.ts).
         */
        candleLimit: positiveInt.max(1000).default(100),
        /** The exchange unreachable for longer than this raises an event (and another when it recovers). */
        unreachableAlertMs: positiveInt.default(30_000),
        /**
         * Deadline of one symbol's reads in a tick (candles, ticker), of an order's lookups and of its cancel: a slow
         * answer is given up for that tick and never delays a stop-loss (a cancel given up is settled by the lookup
         * after it, never assumed done).
         */
        symbolReadTimeoutMs: positiveInt.default(5_000),
        /** Markets (steps, minimums, listings) are loaded again this often. */
        marketsRefreshMs: positiveInt.default(24 * 60 * 60 * 1000),
        /**
         * While a watched symbol is halted (a BREAK) or gone, markets are loaded again after this long, doubling up to
         * `marketsRefreshMs`, so trading (and its stop-loss) is back soon after the exchange resumes it.
         */
        haltedMarketsRefreshMs: positiveInt.default(60_000),
        /**
         * A ticker the exchange dated longer ago than this (on its clock: Binance `closeTime`, OKX `ts`) is stale: no
         * entry is placed on it, the operator is told once (`market.stale`) and once when prices are fresh again. An
         * exchange's ticker is normally under a few seconds old; 5 min leaves a quiet market room.
         */
        maxTickerAgeMs: positiveInt
          .min(
            5_000,
            'is under 5000 ms: an exchange dates its ticker a few seconds behind even on a liquid market; set it to at least 5000 (default 300000)',
          )
          .default(300_000),
        strategy: z
          .strictObject({
            /** Which built-in strategy runs. */
            name: z.enum(['sma-crossover', 'rsi-mean-reversion']).default('sma-crossover'),
            smaCrossover: z
              .strictObject({
                /** Fast moving-average period (candles). */
                fast: positiveInt.default(5),
                /** Slow moving-average period (candles); must exceed fast. */
                slow: positiveInt.default(20),
              })
              .prefault({})
              .refine((s) => s.slow > s.fast, { message: 'slow must be greater than fast', path: ['slow'] }),
            rsiMeanReversion: z
              .strictObject({
                /** RSI period (candles). */
                period: positiveInt.default(14),
                /** Buy when RSI falls below this. */
                oversold: pct.default(30),
                /** Sell when RSI rises above this. */
                overbought: pct.default(70),
              })
              .prefault({})
              .refine((s) => s.overbought > s.oversold, {
                message: 'overbought must be greater than oversold',
                path: ['overbought'],
              }),
          })
          .prefault({}),
        risk: z
          .strictObject({
            /** Quote-currency amount spent per entry. */
            stakePerTrade: z.number().positive().default(100),
            /** Most positions open at once. */
            maxOpenPositions: positiveInt.default(3),
            /** Close a position when it loses this percent (0 disables). */
            stopLossPct: nonNegative.max(100).default(2),
            /** Close a position when it gains this percent (0 disables). */
            takeProfitPct: nonNegative.default(3),
            /** Kill switch: pause entries when equity falls this percent below its peak. */
            maxDrawdownPct: pct.default(20),
            /** Kill switch: pause entries when today's realized loss exceeds this percent of start-of-day equity. */
            maxDailyLossPct: pct.default(10),
            /**
             * The money the operator gives the bot (quote units). Set: the kill switch judges the bot's own equity,
             * capital + its realized PnL + its positions' unrealized PnL, never the account's balance (the owner's
             * deposits, withdrawals and own trades move nothing). Unset: the account's equity.
             */
            capital: z.number().positive().optional(),
          })
          .prefault({}),
        orders: z
          .strictObject({
            /** Order type used for entries and exits. */
            type: z.enum(['market', 'limit']).default('market'),
            /** What to do with open orders carrying our prefix that state does not know. */
            unknownOnStart: z.enum(['adopt', 'cancel']).default('adopt'),
            /** Cancel open orders when trading stops cleanly. */
            cancelOpenOnStop: z.boolean().default(false),
            /** How long shutdown waits for in-flight exchange calls. */
            inFlightWaitMs: positiveInt.default(2_000),
            /** Create call timeout; after it the order is UNKNOWN and resolved by clientOrderId lookup. */
            createTimeoutMs: positiveInt.default(10_000),
            /**
             * An UNKNOWN order (create sent, no answer) is declared never placed only after at least this many
             * "no such order" lookups (an exchange may not know an order it took for a while)…
             */
            unknownNotFoundMisses: positiveInt.default(3),
            /** …and only once this long has passed since the create was sent (plus the exchange's recvWindow). */
            unknownNotFoundWindowMs: positiveInt.default(60_000),
            /** After the exchange refuses an order, no new order on that symbol for this long (doubles on repeats). */
            rejectCooldownMs: positiveInt.default(30_000),
            /**
             * After the exchange refuses a stop-loss or take-profit exit (or expires it with nothing filled), the next
             * one waits this long, doubled for each identical refusal in a row (at most 5 min): a refusal that lasts is
             * not retried every tick, and the exit is never given up.
             */
            protectiveRefusalBackoffMs: positiveInt.default(2_000),
            /**
             * A limit order (open or partly filled) not finished after this long is cancelled. A strategy exit
             * cancelled so is placed again while the strategy still says exit (at market after 3 in a row).
             */
            limitOrderTtlMs: positiveInt.default(60_000),
          })
          .prefault({}),
        paper: z
          .strictObject({
            /** Seed of the simulated market: the same seed gives the same prices. */
            seed: z.number().int().default(42),
            /** Starting balances of the paper account, by currency. */
            startingBalances: z.record(z.string(), nonNegative).default({ USDT: 10_000 }),
            /** Fee charged on every fill, as a fraction (0.001 = 0.1 %). */
            feeRate: nonNegative.max(0.1).default(0.001),
            /** Market-order slippage in basis points. */
            slippageBps: nonNegative.default(5),
            /** Simulated time per candle; small values make the market move fast (demos, tests). */
            candleMs: positiveInt.default(2_000),
            /** Per-candle volatility of the simulated random walk (fraction). */
            volatility: z.number().positive().max(0.5).default(0.004),
            /** Limit orders above this quote notional fill in parts. */
            partialFillNotional: z.number().positive().default(5_000),
            /** Simulated latency of each paper exchange call. */
            latencyMs: nonNegative.default(0),
            /**
             * Where the paper (and dry-run) account file lives, which stands for the exchange's own storage; unset:
             * app.dataDir. Tests put it off the bot's data dir so a fault of the bot's disk does not hit "the exchange".
             */
            dataDir: z.string().min(1).optional(),
          })
          .prefault({}),
      })
      .superRefine(checkCreateExpiry)
      .prefault({}),

    telegram: z
      .strictObject({
        /** Chat that receives alerts (env TELEGRAM_CHAT_ID). */
        chatId: z
          .string()
          .regex(/^-?\d+$/, 'use the numeric chat id')
          .optional(),
        /** Chats/users allowed to command (env TELEGRAM_ALLOWED_CHAT_IDS, comma-separated). Empty: nobody. */
        allowedChatIds: z.array(z.string().regex(/^-?\d+$/, 'use numeric chat ids')).default([]),
        /**
         * Users allowed to command by their own user id, in any chat the bot is in (env TELEGRAM_ALLOWED_USER_IDS,
         * comma-separated); they may also answer another user's confirmation button.
         */
        allowedUserIds: z
          .array(z.string().regex(/^\d+$/, 'use numeric user ids (positive; negative ids are groups)'))
          .default([]),
        /**
         * /closeall, /restart, /pause and /resume need the sender's own user id listed (in allowedUserIds, or as a
         * positive id in allowedChatIds): a listed group alone does not let every member change trading.
         */
        dangerousCommandsUsersOnly: z.boolean().default(true),
        /** Bot API root (env TELEGRAM_API_ROOT), for self-hosted Bot API servers and tests. */
        apiRoot: z.string().url().default('https://api.telegram.org'),
        /** Commands older than this (sent while the bot was down) are not executed. */
        staleCommandMaxAgeSec: positiveInt.default(120),
        /** Confirmation buttons (/restart, /closeall) expire after this. */
        confirmTimeoutSec: positiveInt.default(60),
        /** Long-polling timeout. */
        pollingTimeoutSec: positiveInt.max(50).default(30),
        /**
         * Hour (UTC, 0–23) of a daily summary to the alert chat: the /pnl report and the equity curve. Unset: none
         * (env BYNINJA__TELEGRAM__DAILY_SUMMARY_HOUR_UTC).
         */
        dailySummaryHourUtc: z.number().int().min(0).max(23).optional(),
        /**
         * Per trading event type: on (notify), silent (notify without sound), off. `orderRejected` also governs
         * `order.conflict` (the exchange contradicts a finished order); `riskTriggered` also `order.taken_back` (an
         * order declared never placed, or recorded refused, exists after all: a position appears),
         * `order.settled_absent` (an order the exchange no longer shows, settled from its fills), `order.fills_from_answer` (a finished order's fills its
         * trade reads never bring, booked from its answer), `order.in_doubt` (such an order the balance shows carried
         * out, or an unknown one the exchange's reads cannot decide, or one no longer shown that they cannot settle: its
         * symbol held until it is found or settled), `order.operator_settled` (/settle recorded), `exit.held` (a
         * stop-loss held by a halt), `entry.stake_too_small` (an entry its stop-loss could not get out of, not made), `position.shortfall` (the account holds less of a position's coin than the bot's
         * fills say), `position.unsellable` (a position the bot can no longer sell: a raised minimum, a delisting),
         * `position.written_off` (/writeoff recorded) and pauses/resumes; `exchangeStatus` also `clock.skew` and `api_key.limits` (the API key cannot
         * trade, may withdraw, or ends within 14 days).
         */
        notifications: z
          .strictObject({
            orderPlaced: notify.default('off'),
            orderFilled: notify.default('on'),
            orderCancelled: notify.default('silent'),
            orderRejected: notify.default('on'),
            positionOpened: notify.default('silent'),
            positionClosed: notify.default('on'),
            riskTriggered: notify.default('on'),
            exchangeStatus: notify.default('on'),
            persistFailure: notify.default('on'),
            recovery: notify.default('on'),
          })
          .prefault({}),
      })
      .prefault({}),

    supervisor: z
      .strictObject({
        /** More than this many crashes of one service inside the window is a crash loop. */
        crashLoopCount: positiveInt.default(5),
        /** Crash-loop window. */
        crashLoopWindowMs: positiveInt.default(120_000),
        /** On a crash loop: alert only, or also stop trading through PM2. */
        crashLoopAction: z.enum(['alert', 'stop-trading']).default('alert'),
        /** Trading online in PM2 but not answering its TCP heartbeat for this long is a hang. */
        hangTimeoutMs: positiveInt.default(30_000),
        /** On a hang: alert only, or alert and restart trading through PM2. */
        hangAction: z.enum(['alert', 'restart']).default('restart'),
      })
      .prefault({}),

    outbox: z
      .strictObject({
        /** Most notifications waiting; beyond it the lowest-priority oldest are dropped (and counted). */
        maxSize: positiveInt.default(1_000),
        /** At most one message per chat per this interval (Telegram allows ~1/s per chat). */
        perChatIntervalMs: positiveInt.default(1_000),
        /**
         * Alerts (crash, hang, link down…) may send this many messages to a chat within as many intervals, so an
         * alert does not wait behind the message sent just before it; 1 = strictly one per interval.
         */
        perChatBurst: positiveInt.max(10).default(3),
        /** Global cap across chats (Telegram allows ~30/s). */
        globalPerSecond: positiveInt.max(30).default(25),
        /** Repeats of the same alert inside this window are coalesced into one message. */
        coalesceWindowMs: positiveInt.default(120_000),
        /**
         * Trading event seqs remembered to drop a replayed event already admitted (kept in the outbox file); a replay
         * comes from the end of trading's event retention, so a few thousand is plenty.
         */
        rememberedEventSeqs: positiveInt.default(5_000),
      })
      .prefault({}),
  });
}

export type Config = z.infer<ConfigSchema>;
export type ConfigSection = keyof Config;

/**
 * The sections each consumer validates: the shared ones plus its own. A service never validates (nor reads)
 * another's section, so a Telegram setting can never stop trading and a trading setting never stops the
 * supervisor that would report it. The CLI uses the shared sections only (data/log dirs, the TCP address).
 */
export const SHARED_SECTIONS = ['app', 'logging', 'lifecycle', 'ipc', 'http'] as const;
export const CONFIG_SCOPES = {
  trading: [...SHARED_SECTIONS, 'trading'],
  telegram: [...SHARED_SECTIONS, 'telegram', 'supervisor', 'outbox'],
  cli: SHARED_SECTIONS,
} as const satisfies Record<string, readonly ConfigSection[]>;
export type ConfigScope = keyof typeof CONFIG_SCOPES;
/** The configuration a consumer sees: only its sections. */
export type ScopedConfig<S extends ConfigScope> = Pick<Config, (typeof CONFIG_SCOPES)[S][number]>;
export type SharedConfig = ScopedConfig<'cli'>;
export type TradingConfig = ScopedConfig<'trading'>;
export type TelegramConfig = ScopedConfig<'telegram'>;

export function isConfigScope(name: string): name is ConfigScope {
  return Object.prototype.hasOwnProperty.call(CONFIG_SCOPES, name);
}

/** The schema's top-level sections, in its order (a test keeps this list and the schema's shape the same). */
export const CONFIG_SECTIONS = [
  'app',
  'logging',
  'lifecycle',
  'ipc',
  'http',
  'trading',
  'telegram',
  'supervisor',
  'outbox',
] as const satisfies readonly ConfigSection[];

/** The section of the schema that owns a top-level key (for attributing a problem to a consumer). */
export function isConfigSection(key: string): key is ConfigSection {
  return (CONFIG_SECTIONS as readonly string[]).includes(key);
}
export type TradingMode = Config['trading']['mode'];
export type NotifyLevel = (typeof NOTIFY_LEVELS)[number];

/**
 * Secrets come only from the environment (or .env) and never enter `Config`.
 * Nothing here is ever logged; the logger redacts these values wherever they appear.
 */
export interface Secrets {
  exchangeApiKey?: string;
  exchangeSecret?: string;
  exchangePassword?: string;
  telegramBotToken?: string;
  /** IPC token from env BYNINJA_IPC_TOKEN; otherwise a 0600 file in the data dir is used. */
  ipcToken?: string;
}

/** The environment names of the secrets, for redaction and error messages. */
export const SECRET_ENV: Record<keyof Secrets, string> = {
  exchangeApiKey: 'EXCHANGE_API_KEY',
  exchangeSecret: 'EXCHANGE_SECRET',
  exchangePassword: 'EXCHANGE_PASSWORD',
  telegramBotToken: 'TELEGRAM_BOT_TOKEN',
  ipcToken: 'BYNINJA_IPC_TOKEN',
};
