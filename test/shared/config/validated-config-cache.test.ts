import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config/loader';
import { readCacheFile, writeCacheFile } from '../../../src/shared/lifecycle/code-cache';
import { CONFIG_SECTIONS, configSchema, type ConfigScope } from '../../../src/shared/config/schema';
import type { ConfigCache } from '../../../src/shared/config/validated-config-cache';
import { ConfigError } from '../../../src/shared/errors';
import { FINGERPRINT_PLACEHOLDER, withFingerprint } from '../../../scripts/bundle-fingerprint';

const REPO_ROOT = path.resolve(__dirname, '../../../..');

describe('validated configuration cache (validated-config-cache.ts)', () => {
  let dir: string;
  let cache: ConfigCache;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-config-cache-'));
    cache = { dir: path.join(dir, '.cache'), fingerprint: 'a'.repeat(64) };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cacheFile = (scope: string): string => path.join(cache.dir, `config-${scope}.json`);
  function load(env: Record<string, string> = {}, service: ConfigScope = 'trading', with_ = cache) {
    return loadConfig({
      env: { BYNINJA_ENV_FILE: path.join(dir, '.env'), ...env },
      cwd: dir,
      service,
      cache: with_,
    });
  }
  /** Rewrites the kept answer's botId (its digest made to match): a start that reads it shows the changed value. */
  function plantBotId(scope: string, botId: string): void {
    const kept = JSON.parse(readCacheFile(cacheFile(scope))!.toString('utf8')) as {
      key: string;
      data: { app: { botId: string } };
    };
    kept.data.app.botId = botId;
    expect(writeCacheFile(cacheFile(scope), Buffer.from(JSON.stringify(kept)))).to.equal(true);
  }

  it('keeps a clean answer (0600, no secret in it) and answers the same input from it at the next start', () => {
    const env = { BYNINJA__TRADING__TICK_INTERVAL_MS: '750', EXCHANGE_API_KEY: 'key-never-kept-0123456789' };
    const first = load(env);
    expect(fs.statSync(cacheFile('trading')).mode & 0o777).to.equal(0o600);
    expect(fs.readFileSync(cacheFile('trading'), 'utf8')).to.not.include('key-never-kept');
    plantBotId('trading', 'fromcache');
    const second = load(env);
    expect(second.config.app.botId).to.equal('fromcache');
    expect(second.config.trading.tickIntervalMs).to.equal(750);
    // the loader's own work still runs on a kept answer: absolute dirs, secrets, sources, frozen
    expect(second.config.app.dataDir).to.equal(path.join(dir, 'data'));
    expect(second.secrets).to.deep.equal(first.secrets);
    expect(second.sources).to.deep.equal(first.sources);
    expect(Object.isFrozen(second.config.trading.risk)).to.equal(true);
  });

  it('answers from the cache exactly what the schema answers (the JSON round trip loses nothing)', () => {
    const file = path.join(REPO_ROOT, 'config.example.json');
    for (const service of ['trading', 'telegram', 'cli'] as const) {
      const envs: Array<Record<string, string>> = [
        {},
        { BYNINJA_CONFIG: file },
        { BYNINJA_CONFIG: file, TELEGRAM_CHAT_ID: '-100123' },
      ];
      for (const env of envs) {
        const fresh = load(env, service, undefined);
        load(env, service); // kept
        expect(fs.existsSync(cacheFile(service))).to.equal(true);
        const cached = load(env, service);
        expect(cached.config, `${service} ${JSON.stringify(env)}`).to.deep.equal(fresh.config);
      }
    }
  });

  it('a changed input, another build or another scope is validated again (never the kept answer)', () => {
    load({ BYNINJA__TRADING__TICK_INTERVAL_MS: '750' });
    plantBotId('trading', 'fromcache');
    // another value
    expect(load({ BYNINJA__TRADING__TICK_INTERVAL_MS: '751' }).config.app.botId).to.equal('byninja');
    load({ BYNINJA__TRADING__TICK_INTERVAL_MS: '750' });
    plantBotId('trading', 'fromcache');
    // another build of the code
    const rebuilt = { ...cache, fingerprint: 'b'.repeat(64) };
    expect(load({ BYNINJA__TRADING__TICK_INTERVAL_MS: '750' }, 'trading', rebuilt).config.app.botId).to.equal(
      'byninja',
    );
    // the telegram scope keeps its own answer
    load({}, 'telegram');
    expect(fs.existsSync(cacheFile('telegram'))).to.equal(true);
  });

  it("another node is validated again: the schema's URL and pattern checks are its own (never the kept answer)", () => {
    load();
    plantBotId('trading', 'fromcache');
    expect(load().config.app.botId).to.equal('fromcache');
    const version = Object.getOwnPropertyDescriptor(process, 'version')!;
    Object.defineProperty(process, 'version', { ...version, value: 'v99.0.0' });
    try {
      expect(load().config.app.botId).to.equal('byninja');
    } finally {
      Object.defineProperty(process, 'version', version);
    }
  });

  it('a torn or altered file is a miss: the schema decides', () => {
    load();
    const kept = fs.readFileSync(cacheFile('trading'), 'latin1');
    // altered data, digest not updated
    fs.writeFileSync(cacheFile('trading'), kept.replace('byninja', 'tampered'), 'latin1');
    expect(load().config.app.botId).to.equal('byninja');
    // torn
    fs.writeFileSync(cacheFile('trading'), kept.slice(0, kept.length / 2), 'latin1');
    expect(load().config.app.botId).to.equal('byninja');
    // and a start that validated writes it whole again
    expect(JSON.parse(readCacheFile(cacheFile('trading'))!.toString('utf8'))).to.have.keys('key', 'data');
  });

  it('an input with any problem is refused at every start and never kept', () => {
    const bad = { BYNINJA__TRADING__TICK_INTERVAL_MS: '10' };
    for (let i = 0; i < 2; i++) expect(() => load(bad)).to.throw(ConfigError, 'trading.tickIntervalMs');
    expect(fs.existsSync(cacheFile('trading'))).to.equal(false);
    // a problem outside the schema (live without credentials) is found on a kept answer too
    const live = { BYNINJA_MODE: 'live', EXCHANGE_API_KEY: 'k'.repeat(24), EXCHANGE_SECRET: 's'.repeat(24) };
    load(live);
    plantBotId('trading', 'fromcache');
    expect(load(live).config.app.botId).to.equal('fromcache');
    expect(() => load({ BYNINJA_MODE: 'live' })).to.throw(ConfigError, 'EXCHANGE_API_KEY');
  });

  it('never writes an answer holding what a log line would mask: a secret pasted into a field, URL credentials', () => {
    const token = '123456789:AAHexampleTokenNotRealButShapedLikeOne';
    const secret = 's3cret-pasted-where-it-does-not-belong';
    const quoting: Array<[ConfigScope, Record<string, string>]> = [
      // the bot's token pasted with the Bot API root (its URLs are /bot<token>/…)
      ['telegram', { TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: `https://api.telegram.org/bot${token}` }],
      // an exchange secret pasted into a path
      ['trading', { EXCHANGE_SECRET: secret, BYNINJA_LOG_DIR: `./${secret}` }],
      // a gateway's credentials in its URL
      ['trading', { BYNINJA__TRADING__EXCHANGE_API_URL: 'https://user:pa55word-kept@gw.example/' }],
    ];
    for (const [service, env] of quoting) {
      load(env, service);
      expect(fs.existsSync(cacheFile(service)), service).to.equal(false);
    }
    // the same scopes without them are kept
    for (const service of ['telegram', 'trading'] as const) {
      load({}, service);
      expect(fs.existsSync(cacheFile(service)), service).to.equal(true);
    }
  });

  it('an unwritable cache folder only costs the cache', () => {
    fs.writeFileSync(path.join(dir, 'file'), '');
    const blocked = { ...cache, dir: path.join(dir, 'file', 'cache') };
    expect(load({}, 'trading', blocked).config.trading.mode).to.equal('paper');
    expect(load({}, 'trading', blocked).config.trading.mode).to.equal('paper');
  });

  it("CONFIG_SECTIONS lists the schema's sections, in its order", () => {
    expect([...CONFIG_SECTIONS]).to.deep.equal(Object.keys(configSchema().shape));
  });

  it("a bundle's fingerprint is the SHA-256 of its code: the same code gives the same one, other code another", () => {
    const placeholder = FINGERPRINT_PLACEHOLDER;
    const a = withFingerprint(`const f=${JSON.stringify(placeholder)};`);
    expect(a).to.match(/^const f="[0-9a-f]{64}";$/);
    expect(withFingerprint(`const f=${JSON.stringify(placeholder)};`)).to.equal(a);
    expect(withFingerprint(`const f=${JSON.stringify(placeholder)};1`)).to.not.equal(`${a}1`);
    expect(withFingerprint('no placeholder')).to.equal('no placeholder');
  });
});
