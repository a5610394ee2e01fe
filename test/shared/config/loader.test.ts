import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../../../src/shared/config/loader';
import { configSchema } from '../../../src/shared/config/schema';
import { ConfigError, type ConfigProblem } from '../../../src/shared/errors';

const REPO_ROOT = path.resolve(__dirname, '../../../..');

describe('config loader', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Loads with only the given environment; no developer .env can leak in. */
  function load(env: Record<string, string> = {}): LoadedConfig {
    return loadConfig({ env: { BYNINJA_ENV_FILE: path.join(dir, '.env'), ...env }, cwd: dir });
  }
  function problemsOf(env: Record<string, string>): ConfigProblem[] {
    try {
      load(env);
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    throw new Error('expected a ConfigError');
  }
  function writeJson(value: unknown): string {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(value));
    return file;
  }

  it('with no configuration at all: paper mode, Telegram log-only, dirs absolute under cwd', () => {
    const { config, secrets, sources } = load();
    expect(config.trading.mode).to.equal('paper');
    expect(secrets).to.deep.equal({});
    expect(config.telegram.chatId).to.equal(undefined);
    expect(config.app.dataDir).to.equal(path.join(dir, 'data'));
    expect(config.app.logDir).to.equal(path.join(dir, 'logs'));
    expect(sources.fields).to.deep.equal({});
  });

  it('layers .env → JSON file → environment, and .env never overrides the real environment', () => {
    fs.writeFileSync(
      path.join(dir, '.env'),
      'BYNINJA_IPC_PORT=41000\nTELEGRAM_CHAT_ID=111\nEXCHANGE_API_KEY=from-dotenv-key\n',
    );
    const file = writeJson({ ipc: { port: 42000 }, trading: { tickIntervalMs: 500 } });
    const { config, secrets, sources } = load({
      BYNINJA_CONFIG: file,
      TELEGRAM_CHAT_ID: '222',
      EXCHANGE_API_KEY: 'real-env-key',
    });
    // .env sets ipc.port as an env variable, which overrides the file; the real env wins over .env.
    expect(config.ipc.port).to.equal(41000);
    expect(config.telegram.chatId).to.equal('222');
    expect(config.trading.tickIntervalMs).to.equal(500);
    expect(secrets.exchangeApiKey).to.equal('real-env-key');
    expect(sources.secrets.exchangeApiKey).to.equal('env');
    expect(sources.fields['trading.tickIntervalMs']).to.equal(`file ${file}`);
    expect(sources.fields['ipc.port']).to.equal('env BYNINJA_IPC_PORT');
    expect(sources.envFile).to.equal(path.join(dir, '.env'));
  });

  it('maps the named variables of ARCHITECTURE.md', () => {
    const { config } = load({
      BYNINJA_DATA_DIR: 'state',
      BYNINJA_LOG_DIR: '/var/log/bn',
      BYNINJA_IPC_PORT: '45000',
      BYNINJA_MODE: 'dry-run',
      TELEGRAM_CHAT_ID: '-100123',
      TELEGRAM_ALLOWED_CHAT_IDS: '1, 2 ,,3',
      TELEGRAM_API_ROOT: 'http://127.0.0.1:9000',
    });
    expect(config.app.dataDir).to.equal(path.join(dir, 'state'));
    expect(config.app.logDir).to.equal('/var/log/bn');
    expect(config.ipc.port).to.equal(45000);
    expect(config.trading.mode).to.equal('dry-run');
    expect(config.telegram.chatId).to.equal('-100123');
    expect(config.telegram.allowedChatIds).to.deep.equal(['1', '2', '3']);
    expect(config.telegram.apiRoot).to.equal('http://127.0.0.1:9000');
  });

  it("trading.risk.capital: unset by default (the account's equity is judged), a positive amount when set", () => {
    expect(load().config.trading.risk.capital).to.equal(undefined);
    expect(load({ BYNINJA__TRADING__RISK__CAPITAL: '2000' }).config.trading.risk.capital).to.equal(2_000);
    writeJson({ trading: { risk: { capital: 1_500.5 } } });
    expect(load({ BYNINJA_CONFIG: path.join(dir, 'config.json') }).config.trading.risk.capital).to.equal(
      1_500.5,
    );
  });

  it('generic BYNINJA__SECTION__KEY overlay: snake case to camel case, JSON values, raw text for string fields', () => {
    const { config } = load({
      BYNINJA__TRADING__RISK__STAKE_PER_TRADE: '55.5',
      BYNINJA__TRADING__SYMBOLS: '["SOL/USDT"]',
      BYNINJA__TRADING__STRATEGY__SMA_CROSSOVER__FAST: '3',
      BYNINJA__TRADING__TIMEFRAME: '5m',
      BYNINJA__TELEGRAM__CHAT_ID: '123456',
      BYNINJA__TRADING__ORDERS__CANCEL_OPEN_ON_STOP: 'true',
    });
    expect(config.trading.risk.stakePerTrade).to.equal(55.5);
    expect(config.trading.symbols).to.deep.equal(['SOL/USDT']);
    expect(config.trading.strategy.smaCrossover.fast).to.equal(3);
    expect(config.trading.timeframe).to.equal('5m');
    expect(config.telegram.chatId).to.equal('123456');
    expect(config.trading.orders.cancelOpenOnStop).to.equal(true);
  });

  it('returns a deeply frozen config without credentials, and secrets only from the environment', () => {
    const env = {
      EXCHANGE_API_KEY: 'key-AAAA1111',
      EXCHANGE_SECRET: 'secret-BBBB2222',
      EXCHANGE_PASSWORD: 'pass-CCCC3333',
      TELEGRAM_BOT_TOKEN: '123456:tok-DDDD4444',
      TELEGRAM_CHAT_ID: '42',
      BYNINJA_IPC_TOKEN: 'ipc-EEEE5555',
      BYNINJA_MODE: 'live',
    };
    const { config, secrets } = load(env);
    expect(secrets).to.deep.equal({
      exchangeApiKey: 'key-AAAA1111',
      exchangeSecret: 'secret-BBBB2222',
      exchangePassword: 'pass-CCCC3333',
      telegramBotToken: '123456:tok-DDDD4444',
      ipcToken: 'ipc-EEEE5555',
    });
    const text = JSON.stringify(config);
    for (const value of Object.values(secrets)) expect(text).not.to.include(value);
    expect(Object.isFrozen(config.trading.risk)).to.equal(true);
    expect(() => {
      (config.trading.risk as { stakePerTrade: number }).stakePerTrade = 1;
    }).to.throw(TypeError);
  });

  describe('errors name the field, its source, the bad value and the fix — all problems at once', () => {
    const table: Array<{
      what: string;
      env?: Record<string, string>;
      file?: unknown;
      field: string;
      value: string;
      message: RegExp;
    }> = [
      {
        what: 'a non-numeric port',
        env: { BYNINJA_IPC_PORT: 'abc' },
        field: 'ipc.port (env BYNINJA_IPC_PORT)',
        value: '"abc"',
        message: /expected number.*fix variable BYNINJA_IPC_PORT/,
      },
      {
        what: 'a port out of range',
        env: { BYNINJA_IPC_PORT: '70000' },
        field: 'ipc.port (env BYNINJA_IPC_PORT)',
        value: '70000',
        message: /too big.*65535/i,
      },
      {
        what: 'an unknown mode',
        env: { BYNINJA_MODE: 'yolo' },
        field: 'trading.mode (env BYNINJA_MODE)',
        value: '"yolo"',
        message: /"paper"\|"dry-run"\|"live"/,
      },
      {
        what: 'a typo in a file key',
        file: { trading: { risk: { stakePerTrad: 5 } } },
        field: 'trading.risk.stakePerTrad',
        value: '5',
        message:
          /unknown setting \(did you mean "trading.risk.stakePerTrade"\?\) — remove "trading.risk.stakePerTrad" from .*config.json/,
      },
      {
        what: 'a typo in a generic variable',
        env: { BYNINJA__IPC__PROT: '1' },
        field: 'ipc.prot (env BYNINJA__IPC__PROT)',
        value: '1',
        message: /did you mean "ipc.port"\?.*remove variable BYNINJA__IPC__PROT/,
      },
      {
        what: 'a negative stake',
        file: { trading: { risk: { stakePerTrade: -5 } } },
        field: 'trading.risk.stakePerTrade',
        value: '-5',
        message: /too small/i,
      },
      {
        what: 'a bot capital of 0 (the money given the bot, judged by the risk limits)',
        file: { trading: { risk: { capital: 0 } } },
        field: 'trading.risk.capital',
        value: '0',
        message: /too small/i,
      },
      {
        what: 'a bot capital that is no number',
        env: { BYNINJA__TRADING__RISK__CAPITAL: 'all' },
        field: 'trading.risk.capital (env BYNINJA__TRADING__RISK__CAPITAL)',
        value: '"all"',
        message: /expected number/i,
      },
      {
        what: 'a non-numeric allowed chat id',
        env: { TELEGRAM_ALLOWED_CHAT_IDS: '1,abc' },
        field: 'telegram.allowedChatIds.1 (env TELEGRAM_ALLOWED_CHAT_IDS)',
        value: '"abc"',
        message: /numeric chat ids/,
      },
      {
        what: 'a non-loopback IPC host',
        env: { BYNINJA__IPC__HOST: '0.0.0.0' },
        field: 'ipc.host (env BYNINJA__IPC__HOST)',
        value: '"0.0.0.0"',
        message: /loopback/,
      },
      {
        what: 'slow ≤ fast',
        env: { BYNINJA__TRADING__STRATEGY__SMA_CROSSOVER__SLOW: '3' },
        field: 'trading.strategy.smaCrossover.slow',
        value: '3',
        message: /slow must be greater than fast/,
      },
      {
        what: "an unknown-order window shorter than an OKX create's reach",
        file: { trading: { mode: 'live', exchange: 'okx', orders: { unknownNotFoundWindowMs: 20_000 } } },
        field: 'trading.orders.unknownNotFoundWindowMs',
        value: '20000',
        message: /OKX create .*expTime.*30 s of host clock ahead.*set it to at least 35000/,
      },
      {
        what: "a ticker age limit under an exchange's normal ticker lag",
        env: { BYNINJA__TRADING__MAX_TICKER_AGE_MS: '1000' },
        field: 'trading.maxTickerAgeMs',
        value: '1000',
        message: /a few seconds behind.*set it to at least 5000 \(default 300000\)/,
      },
      {
        what: 'a secret in the JSON file',
        file: { exchange: { secret: 'shh-FILE-SECRET' } },
        field: 'exchange.secret',
        value: '[REDACTED]',
        message: /secrets only from the environment: set EXCHANGE_SECRET in .env/,
      },
      {
        what: 'a bot token in the JSON file',
        file: { telegram: { botToken: '1:x' } },
        field: 'telegram.botToken',
        value: '[REDACTED]',
        message: /set TELEGRAM_BOT_TOKEN in .env/,
      },
      {
        what: 'a secret through the generic overlay',
        env: { BYNINJA__EXCHANGE__API_KEY: 'k-GENERIC' },
        field: 'exchange.apiKey (env BYNINJA__EXCHANGE__API_KEY)',
        value: '[REDACTED]',
        message: /set EXCHANGE_API_KEY in .env and unset BYNINJA__EXCHANGE__API_KEY/,
      },
      {
        what: 'live mode without keys',
        env: { BYNINJA_MODE: 'live' },
        field: 'EXCHANGE_API_KEY',
        value: '(unset)',
        message: /"live" \(env BYNINJA_MODE\), which needs exchange credentials: set EXCHANGE_API_KEY/,
      },
      {
        what: 'a missing config file',
        env: { BYNINJA_CONFIG: 'nope.json' },
        field: 'BYNINJA_CONFIG',
        value: '',
        message: /file not found: create it \(copy config.example.json\) or unset BYNINJA_CONFIG/,
      },
    ];

    for (const row of table) {
      it(`${row.what}`, () => {
        const env = { ...row.env };
        if (row.file !== undefined) env.BYNINJA_CONFIG = writeJson(row.file);
        const problems = problemsOf(env);
        const match = problems.find((p) => p.field.startsWith(row.field));
        expect(match, JSON.stringify(problems, null, 1)).to.not.equal(undefined);
        if (row.value) expect(match!.value).to.equal(row.value);
        expect(match!.message).to.match(row.message);
      });
    }

    it('reports every problem of a bad configuration in one error, secrets masked in the message', () => {
      const file = writeJson({
        trading: { risk: { stakePerTrad: 5, maxOpenPositions: 0 } },
        exchange: { secret: 'shh-FILE-SECRET' },
      });
      let error: ConfigError | undefined;
      try {
        load({
          BYNINJA_CONFIG: file,
          BYNINJA_IPC_PORT: 'abc',
          BYNINJA_MODE: 'live',
          TELEGRAM_BOT_TOKEN: '123:tokentoken',
        });
      } catch (err) {
        error = err as ConfigError;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const fields = error!.problems.map((p) => p.field.split(' ')[0]);
      expect(fields).to.include.members([
        'exchange.secret',
        'ipc.port',
        'trading.risk.stakePerTrad',
        'trading.risk.maxOpenPositions',
        'EXCHANGE_API_KEY',
        'EXCHANGE_SECRET',
      ]);
      expect(error!.message).to.match(/^Invalid configuration \(\d+ problems\):/);
      expect(error!.message).not.to.include('shh-FILE-SECRET');
      expect(error!.message).not.to.include('tokentoken');
    });

    it('symbols quoted in another currency than the first, or listed twice, are refused by position with the fix', () => {
      const file = writeJson({ trading: { symbols: ['BTC/USDT', 'ETH/BTC', 'BTC/USDT', 'SOL/USDT'] } });
      const problems = problemsOf({ BYNINJA_CONFIG: file });
      expect(problems.map((p) => p.field.split(' ')[0])).to.deep.equal([
        'trading.symbols.1',
        'trading.symbols.2',
      ]);
      expect(problems[0]!.message).to.include('ETH/BTC is quoted in BTC but BTC/USDT in USDT');
      expect(problems[0]!.message).to.include('e.g. ETH/USDT');
      expect(problems[1]!.message).to.include('BTC/USDT is listed twice');
      // one quote is fine, whatever it is
      const euro = writeJson({ trading: { symbols: ['BTC/EUR', 'ETH/EUR'] } });
      expect(load({ BYNINJA_CONFIG: euro }).config.trading.symbols).to.deep.equal(['BTC/EUR', 'ETH/EUR']);
    });

    it('an unparsable JSON file is one readable problem', () => {
      const file = path.join(dir, 'broken.json');
      fs.writeFileSync(file, '{ "trading": ');
      const [problem] = problemsOf({ BYNINJA_CONFIG: file });
      expect(problem.field).to.equal('BYNINJA_CONFIG');
      expect(problem.message).to.match(/not valid JSON/);
    });

    it('a config file that is not one JSON object, or cannot be read, says which and the fix', () => {
      const array = path.join(dir, 'array.json');
      fs.writeFileSync(array, '[{ "trading": {} }]');
      expect(problemsOf({ BYNINJA_CONFIG: array })[0]!.message).to.equal(
        'not valid JSON (the top level must be a JSON object): fix the file (config.example.json shows the format)',
      );
      const unreadable = path.join(dir, 'a-directory.json');
      fs.mkdirSync(unreadable);
      expect(problemsOf({ BYNINJA_CONFIG: unreadable })[0]!.message).to.equal(
        'cannot read it (EISDIR): create it (copy config.example.json) or unset BYNINJA_CONFIG to use the defaults',
      );
    });
  });

  describe('each service validates only the sections it uses', () => {
    function problemsFor(service: 'trading' | 'telegram' | 'cli', env: Record<string, string>): string[] {
      try {
        loadConfig({ env: { BYNINJA_ENV_FILE: path.join(dir, '.env'), ...env }, cwd: dir, service });
        return [];
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as ConfigError).problems.map((p) => p.field.split(' ')[0]!);
      }
    }

    it('one port for two of our listeners is refused, naming the setting (HTTP on trading’s TCP port)', () => {
      const clash = { BYNINJA_IPC_PORT: '47900', BYNINJA__HTTP__TELEGRAM_PORT: '47900' };
      expect(problemsFor('telegram', clash)).to.deep.equal(['http.telegramPort']);
      expect(problemsFor('trading', clash)).to.deep.equal(['http.telegramPort']);
      // HTTP off: its ports listen nowhere
      expect(problemsFor('trading', { ...clash, BYNINJA__HTTP__ENABLED: 'false' })).to.deep.equal([]);
    });

    it('a bot token without a chat id stops nobody (telegram runs its bot and logs alerts)', () => {
      const env = { TELEGRAM_BOT_TOKEN: '123:abcdefgh' };
      expect(problemsFor('trading', env)).to.deep.equal([]);
      expect(problemsFor('telegram', env)).to.deep.equal([]);
    });

    it('a Telegram, supervisor or outbox problem is telegram’s alone; a trading problem is trading’s alone', () => {
      const file = writeJson({
        telegram: { chatId: 'not-a-number' },
        supervisor: { crashLoopCount: -1 },
        trading: { symbols: ['btc-usdt'] },
      });
      const env = { BYNINJA_CONFIG: file, BYNINJA__OUTBOX__MAX_SIZE: '0', BYNINJA_MODE: 'live' };
      expect(problemsFor('trading', env)).to.have.members([
        'trading.symbols.0',
        'EXCHANGE_API_KEY',
        'EXCHANGE_SECRET',
      ]);
      expect(problemsFor('telegram', env)).to.have.members([
        'telegram.chatId',
        'supervisor.crashLoopCount',
        'outbox.maxSize',
      ]);
      expect(problemsFor('cli', env)).to.deep.equal([]);
    });

    it('a shared section stops every consumer, and so does an unknown top-level key that matches no section', () => {
      const env = { BYNINJA_IPC_PORT: '70000', BYNINJA__BOGUS__X: '1' };
      for (const consumer of ['trading', 'telegram', 'cli'] as const)
        expect(problemsFor(consumer, env), consumer).to.have.members(['ipc.port', 'bogus']);
    });

    it('a misspelt section name is the problem of the service whose section it resembles', () => {
      const file = writeJson({ telegrm: { chatId: '1' }, tradng: { tickIntervalMs: 100 } });
      expect(problemsFor('trading', { BYNINJA_CONFIG: file })).to.deep.equal(['tradng']);
      expect(problemsFor('telegram', { BYNINJA_CONFIG: file })).to.deep.equal(['telegrm']);
    });

    it('a secret in another service’s section of the file is that service’s problem', () => {
      const file = writeJson({ telegram: { botToken: 'x' } });
      expect(problemsFor('trading', { BYNINJA_CONFIG: file })).to.deep.equal([]);
      expect(problemsFor('telegram', { BYNINJA_CONFIG: file })).to.deep.equal(['telegram.botToken']);
    });

    it('returns only the consumer’s sections', () => {
      const trading = loadConfig({
        env: { BYNINJA_ENV_FILE: path.join(dir, '.env') },
        cwd: dir,
        service: 'trading',
      });
      expect(Object.keys(trading.config).sort()).to.deep.equal([
        'app',
        'http',
        'ipc',
        'lifecycle',
        'logging',
        'trading',
      ]);
      expect(trading.config.app.dataDir).to.equal(path.join(dir, 'data'));
      const telegram = loadConfig({
        env: { BYNINJA_ENV_FILE: path.join(dir, '.env') },
        cwd: dir,
        service: 'telegram',
      });
      expect(Object.keys(telegram.config).sort()).to.deep.equal([
        'app',
        'http',
        'ipc',
        'lifecycle',
        'logging',
        'outbox',
        'supervisor',
        'telegram',
      ]);
    });
  });

  it('under the ecosystem, a BYNINJA__ variable its last start did not pass (PM2 kept it) is ignored and named', () => {
    const { config, sources } = load({
      BYNINJA_PM2_VARS: 'BYNINJA__TRADING__CANDLE_LIMIT',
      BYNINJA__TRADING__CANDLE_LIMIT: '50',
      BYNINJA__TRADING__TICK_INTERVAL_MS: '500',
    });
    expect(config.trading.candleLimit).to.equal(50);
    expect(config.trading.tickIntervalMs).to.equal(2_000);
    expect(sources.staleEnv).to.deep.equal(['BYNINJA__TRADING__TICK_INTERVAL_MS']);
    // the same variable in .env is the operator's file, never stale
    fs.writeFileSync(path.join(dir, '.env'), 'BYNINJA__TRADING__TICK_INTERVAL_MS=700\n');
    expect(load({ BYNINJA_PM2_VARS: '' }).config.trading.tickIntervalMs).to.equal(700);
  });

  it('an empty variable counts as unset: the .env value applies (PM2 keeps blanks of unset variables)', () => {
    fs.writeFileSync(path.join(dir, '.env'), 'BYNINJA_IPC_PORT=41001\n');
    expect(load({ BYNINJA_IPC_PORT: '' }).config.ipc.port).to.equal(41001);
  });

  describe('a secret whose .env line holds a "#" outside quotes (dotenv cuts the value there)', () => {
    const PASSPHRASE = 'Tr4de#Bot-2026';
    const write = (lines: string[]): void =>
      fs.writeFileSync(path.join(dir, '.env'), `${lines.join('\n')}\n`);
    function problemsFor(
      service: 'trading' | 'telegram' | 'cli',
      env: Record<string, string> = {},
    ): ConfigProblem[] {
      try {
        loadConfig({ env: { BYNINJA_ENV_FILE: path.join(dir, '.env'), ...env }, cwd: dir, service });
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
      return [];
    }

    it('is refused, naming the variable, the line and the quoting fix, never the value (nor its cut part)', () => {
      write(['EXCHANGE_API_KEY=k', 'EXCHANGE_SECRET=s', `EXCHANGE_PASSWORD=${PASSPHRASE}`]);
      const problems = problemsFor('trading');
      expect(problems.map((p) => p.field)).to.deep.equal(['EXCHANGE_PASSWORD']);
      const [p] = problems;
      expect(p!.message)
        .to.include('line 3')
        .and.include("EXCHANGE_PASSWORD='…'")
        .and.match(/quotes/);
      const text = JSON.stringify(problems);
      expect(text).not.to.include('Tr4de');
      expect(text).not.to.include('Bot-2026');
    });

    it('quoted, the whole value is read; a blank value followed by a comment is unset, not refused', () => {
      write([`EXCHANGE_PASSWORD='${PASSPHRASE}'`, 'EXCHANGE_SECRET="a#b"', 'EXCHANGE_API_KEY=   # fill in']);
      expect(problemsFor('trading')).to.deep.equal([]);
      const { secrets } = loadConfig({
        env: { BYNINJA_ENV_FILE: path.join(dir, '.env') },
        cwd: dir,
        service: 'trading',
      });
      expect(secrets.exchangePassword).to.equal(PASSPHRASE);
      expect(secrets.exchangeSecret).to.equal('a#b');
      expect(secrets.exchangeApiKey).to.equal(undefined);
    });

    it('a comment after a secret is refused too (it cannot be told from a "#" in the value); other lines may have one', () => {
      write(['EXCHANGE_SECRET=abc # my key', 'BYNINJA_LOG_LEVEL=info # chatty']);
      expect(problemsFor('trading').map((p) => p.field)).to.deep.equal(['EXCHANGE_SECRET']);
    });

    it('only the consumer of the secret is stopped, and not when the real environment sets the variable', () => {
      write([`EXCHANGE_PASSWORD=${PASSPHRASE}`, 'TELEGRAM_BOT_TOKEN=123:abc#def']);
      expect(problemsFor('telegram').map((p) => p.field)).to.deep.equal(['TELEGRAM_BOT_TOKEN']);
      expect(problemsFor('cli')).to.deep.equal([]);
      expect(problemsFor('trading', { EXCHANGE_PASSWORD: PASSPHRASE })).to.deep.equal([]);
    });
  });

  describe('the example files', () => {
    it('config.example.json is valid and loads with every section', () => {
      const { config } = load({ BYNINJA_CONFIG: path.join(REPO_ROOT, 'config.example.json') });
      expect(config.trading.mode).to.equal('paper');
    });

    it('config.example.json spells out every field of the schema', () => {
      const example = JSON.parse(
        fs.readFileSync(path.join(REPO_ROOT, 'config.example.json'), 'utf8'),
      ) as Record<string, unknown>;
      const defaults = configSchema().parse({});
      expect(leafKeys(example)).to.include.members(leafKeys(defaults as unknown as Record<string, unknown>));
    });

    it('.env.example documents every environment variable the loader reads, and sets no secret value', () => {
      const text = fs.readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
      for (const name of [
        'BYNINJA_CONFIG',
        'BYNINJA_DATA_DIR',
        'BYNINJA_LOG_DIR',
        'BYNINJA_IPC_PORT',
        'BYNINJA_MODE',
        'BYNINJA_LOG_LEVEL',
        'TELEGRAM_BOT_TOKEN',
        'TELEGRAM_CHAT_ID',
        'TELEGRAM_ALLOWED_CHAT_IDS',
        'TELEGRAM_API_ROOT',
        'EXCHANGE_API_KEY',
        'EXCHANGE_SECRET',
        'EXCHANGE_PASSWORD',
        'BYNINJA_IPC_TOKEN',
        'BYNINJA__',
      ]) {
        expect(text, name).to.include(name);
      }
      for (const secret of [
        'EXCHANGE_API_KEY',
        'EXCHANGE_SECRET',
        'EXCHANGE_PASSWORD',
        'TELEGRAM_BOT_TOKEN',
        'BYNINJA_IPC_TOKEN',
      ]) {
        expect(text).to.match(new RegExp(`^${secret}=$`, 'm'));
      }
      // Loading it as a .env gives the defaults (every value empty or a default).
      fs.copyFileSync(path.join(REPO_ROOT, '.env.example'), path.join(dir, '.env'));
      expect(load().config.trading.mode).to.equal('paper');
    });
  });

  it('a secret pasted into a non-secret variable is masked in the config error that echoes its value', () => {
    const secret = 'exchange-secret-value-42';
    const problems = problemsOf({ EXCHANGE_SECRET: secret, BYNINJA_IPC_PORT: secret });
    const text = JSON.stringify(problems);
    expect(text).to.include('ipc.port');
    expect(text).to.not.include(secret);
  });

  describe('prototype keys', () => {
    afterEach(() => {
      // a failed guard would have polluted every object of the test process: undo it so other tests still run
      delete (Object.prototype as Record<string, unknown>).polluted;
    });

    it('refuses "__proto__" inside a BYNINJA__ JSON value, naming the key and the variable, and pollutes nothing', () => {
      const problems = problemsOf({
        BYNINJA__TRADING: '{"__proto__":{"polluted":"yes"},"tickIntervalMs":500}',
      });
      const p = problems.find((x) => x.field.includes('__proto__'));
      expect(p, JSON.stringify(problems)).to.not.equal(undefined);
      expect(p!.field).to.include('BYNINJA__TRADING');
      expect(p!.message).to.include('"__proto__" is not allowed');
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('refuses "constructor"/"prototype" in a variable name with a clear message instead of a TypeError', () => {
      const problems = problemsOf({ BYNINJA__CONSTRUCTOR__PROTOTYPE__POLLUTED: '1' });
      expect(problems).to.have.length(1);
      expect(problems[0].field).to.include('BYNINJA__CONSTRUCTOR__PROTOTYPE__POLLUTED');
      expect(problems[0].message).to.include('"constructor" is not allowed');
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('refuses "__proto__" and "prototype" keys in the JSON config file, naming the file', () => {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, '{"trading":{"__proto__":{"polluted":1},"risk":{"prototype":{"x":1}}}}');
      const problems = problemsOf({ BYNINJA_CONFIG: file });
      const fields = problems.map((p) => p.field);
      expect(fields.some((f) => f.startsWith('trading.__proto__') && f.includes(file))).to.equal(true);
      expect(fields.some((f) => f.startsWith('trading.risk.prototype'))).to.equal(true);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });
  });
});

function leafKeys(node: Record<string, unknown>, at = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(node)) {
    const here = at ? `${at}.${k}` : k;
    // Records with free keys (paper.startingBalances) count as one field.
    if (v && typeof v === 'object' && !Array.isArray(v) && k !== 'startingBalances')
      out.push(...leafKeys(v as Record<string, unknown>, here));
    else out.push(here);
  }
  return out;
}
