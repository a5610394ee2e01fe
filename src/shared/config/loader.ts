/**
 * Loads and validates the configuration once at start: `.env` (dotenv; never overrides the real environment)
 * → optional JSON file `BYNINJA_CONFIG` → environment overlay (named variables and `BYNINJA__SECTION__KEY`).
 * Secrets come only from the environment into `Secrets`. Every problem is collected into one `ConfigError`
 * naming the field (and the variable or file it came from), the bad value (masked when secret) and the fix.
 *
 * The returned `config` is deeply frozen, holds no credentials and has absolute dataDir/logDir.
 *
 * Each consumer validates only its sections (`service`: trading, telegram or cli; CONFIG_SCOPES in schema.ts):
 * a problem in another service's section, including a misspelt top-level key closest to it, is that service's
 * to report and never stops this one. Sources that belong to nobody in particular (the .env file, the JSON file
 * itself) are everyone's.
 */
import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { ConfigError, type ConfigProblem } from '../errors';
import { Redactor } from '../logging/redact';
import { readJsonFileSync } from '../persistence/json-file';
import { unquotedHashLines } from './env-file-lines';
import { envOverlay, GENERIC_PREFIX, setPath, snakeToCamel, type Env } from './env-overlay';
import {
  CONFIG_SCOPES,
  CONFIG_SECTIONS,
  configSchema,
  isConfigSection,
  type ConfigSchema,
  SECRET_ENV,
  type Config,
  type ConfigScope,
  type ConfigSection,
  type ScopedConfig,
  type Secrets,
} from './schema';
import { closestKey, describeIssues } from './problems';
import { isUnsafeConfigKey, removeUnsafeKeys } from './unsafe-keys';
import {
  bundleConfigCache,
  readValidatedConfig,
  validationKey,
  writeValidatedConfig,
  type ConfigCache,
} from './validated-config-cache';

export interface ConfigSources {
  /** The .env file that was read, if one existed. */
  envFile?: string;
  /** The JSON config file that was read (BYNINJA_CONFIG). */
  configFile?: string;
  /** Dotted field path → where its value came from: `env NAME` or `file <path>`. Absent = default. */
  fields: Record<string, string>;
  /** Which secrets are set, and whether from the real environment or the .env file (values never appear). */
  secrets: Partial<Record<keyof Secrets, 'env' | '.env'>>;
  /**
   * BYNINJA__ variables ignored because PM2 kept them from an earlier start: the ecosystem lists in BYNINJA_PM2_VARS
   * the ones its last start or restart passed (ecosystem.config.js).
   */
  staleEnv?: string[];
}

export interface LoadedConfig<C = Config> {
  config: C;
  secrets: Secrets;
  sources: ConfigSources;
}

export interface LoadConfigOptions {
  /** The real environment (default process.env). It is never modified. */
  env?: Env;
  /** Base of relative paths (default process.cwd()). */
  cwd?: string;
  /** Validate only the sections this consumer uses (default: every section). */
  service?: ConfigScope;
  /** Validate only these sections (overrides `service`; e.g. just `app` to find the data dir). */
  sections?: readonly ConfigSection[];
  /**
   * Where the schema's clean answers are kept for the next start (validated-config-cache.ts); default: the daemon
   * bundle's cache, none outside a bundle.
   */
  cache?: ConfigCache;
}

/** Keys that look like credentials: they may only come from the environment, never from the JSON file. */
const SECRET_KEY = /(api_?key|secret|password|passphrase|token|private_?key)/i;

export function loadConfig(options?: LoadConfigOptions & { service?: undefined }): LoadedConfig;
export function loadConfig<S extends ConfigScope>(
  options: LoadConfigOptions & { service: S },
): LoadedConfig<ScopedConfig<S>>;
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig<Partial<Config>> {
  return loadConfigSections(options);
}

/** loadConfig without the typing by scope: the sections present are those `service` / `sections` selected. */
export function loadConfigSections(options: LoadConfigOptions = {}): LoadedConfig<Partial<Config>> {
  const realEnv = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const scope = sectionScope(options);
  const problems: ConfigProblem[] = [];
  // null-prototype maps: a key named like an Object.prototype member must never read one
  const sources: ConfigSources = { fields: Object.create(null), secrets: {} };

  // 1. .env — the real environment wins over it (dotenv's own rule; an operator's export is deliberate).
  const envFile = path.resolve(cwd, realEnv.BYNINJA_ENV_FILE || '.env');
  let fileEnv: Record<string, string> = {};
  try {
    const text = fs.readFileSync(envFile, 'utf8');
    fileEnv = dotenv.parse(text);
    sources.envFile = envFile;
    problems.push(...cutSecretProblems(text, envFile, realEnv, scope));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      problems.push({
        field: 'BYNINJA_ENV_FILE',
        value: JSON.stringify(envFile),
        message: `cannot read the .env file (${(err as Error).message}): fix its permissions or point BYNINJA_ENV_FILE elsewhere`,
      });
    }
  }
  const env: Env = { ...fileEnv };
  const passed = realEnv.BYNINJA_PM2_VARS?.split(',').filter((name) => name !== '');
  for (const [k, v] of Object.entries(realEnv)) {
    // An empty variable counts as unset, so the .env value applies (`KEY=` means "not set"; PM2 keeps such blanks).
    if (v === undefined || v === '') continue;
    if (passed && k.startsWith(GENERIC_PREFIX) && !passed.includes(k)) {
      (sources.staleEnv ??= []).push(k);
      continue;
    }
    env[k] = v;
  }

  // 2. Secrets, from the environment only.
  const secrets: Secrets = {};
  for (const [key, name] of Object.entries(SECRET_ENV) as Array<[keyof Secrets, string]>) {
    const value = env[name]?.trim();
    if (!value) continue;
    secrets[key] = value;
    sources.secrets[key] = realEnv[name]?.trim() ? 'env' : '.env';
  }

  // 3. Optional JSON file.
  let fileValues: Record<string, unknown> = {};
  const fileFields: Record<string, string> = {};
  const configPath = env.BYNINJA_CONFIG?.trim();
  if (configPath) {
    const file = path.resolve(cwd, configPath);
    const read = readConfigFile(file);
    if ('problem' in read) problems.push(read.problem);
    else {
      sources.configFile = file;
      fileValues = read.value;
      problems.push(...removeUnsafeKeys(fileValues, () => `file ${file}`));
      const secretProblems: ConfigProblem[] = [];
      stripSecrets(fileValues, [], `file ${file}`, secretProblems);
      problems.push(...secretProblems.filter((p) => scope.owns(p.field)));
      for (const leaf of leaves(fileValues)) fileFields[leaf] = `file ${file}`;
    }
  }

  // 4. Environment overlay.
  const overlay = envOverlay(env);
  problems.push(...overlay.problems.filter((p) => scope.owns(overlayPath(p.field))));
  const secretProblems: ConfigProblem[] = [];
  stripSecrets(overlay.values, [], 'the environment', secretProblems, overlay.fields);
  problems.push(...secretProblems.filter((p) => scope.owns(p.field)));
  // null-prototype objects: a key named like an Object.prototype member must never read or write one
  const merged = deepMerge(Object.create(null) as Record<string, unknown>, fileValues);
  deepMerge(merged, overlay.values);
  Object.assign(sources.fields, fileFields);
  for (const [field, name] of Object.entries(overlay.fields)) sources.fields[field] = `env ${name}`;

  // 5. Schema, of this consumer's sections only: other sections (and top-level typos closest to them) are left to
  //    their own consumer. A generic variable whose text parsed as JSON (`BYNINJA__TELEGRAM__CHAT_ID=123`) but
  //    whose field is a string gets its raw text instead — the operator meant the text.
  const input = scope.select(merged);
  // the answer the schema gave this same input at an earlier start of this same code (validated-config-cache.ts)
  const cache = 'cache' in options ? options.cache : bundleConfigCache();
  const key = cache && validationKey(cache, scope.name, input);
  const kept = cache && key ? readValidatedConfig(cache, scope.name, key) : undefined;
  let parsed: { success: true; data: unknown } | ReturnType<ConfigSchema['safeParse']> =
    kept !== undefined ? { success: true, data: kept } : scope.schema().safeParse(input);
  let retried = false;
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const dotted = issue.path.join('.');
      if (issue.code === 'invalid_type' && issue.expected === 'string' && overlay.raw[dotted] !== undefined) {
        setPath(input, dotted, overlay.raw[dotted]);
        retried = true;
      }
    }
    if (retried) parsed = scope.schema().safeParse(input);
  }
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues, input, sources));

  // 6. Cross-field rules (checked on the raw values too, so they are reported with the schema problems).
  problems.push(...crossFieldProblems(input, secrets, sources));
  if (parsed.success) problems.push(...portProblems(parsed.data as Partial<Config>, sources));

  if (problems.length > 0 || !parsed.success) {
    // A secret pasted into the wrong variable would otherwise be echoed as that field's bad value.
    const redactor = new Redactor(Object.values(secrets));
    throw new ConfigError(
      problems.map((p) => ({
        field: redactor.redactString(p.field),
        value: redactor.redactString(p.value),
        message: redactor.redactString(p.message),
      })),
    );
  }

  // a clean answer of the schema itself (not one taken from the cache, nor one the raw-text retry above changed
  // the input for): kept for the next start, unless it quotes a secret (validated-config-cache.ts)
  if (cache && key && kept === undefined && !retried)
    writeValidatedConfig(cache, scope.name, key, parsed.data, new Redactor(Object.values(secrets)));
  const config = parsed.data as Partial<Config>;
  if (config.app) {
    config.app.dataDir = path.resolve(cwd, config.app.dataDir);
    config.app.logDir = path.resolve(cwd, config.app.logDir);
  }
  if (config.trading?.paper.dataDir !== undefined)
    config.trading.paper.dataDir = path.resolve(cwd, config.trading.paper.dataDir);
  return { config: deepFreeze(config), secrets: Object.freeze(secrets), sources };
}

interface SectionScope {
  /** The sections' name, for the validation cache: the service, the sections joined, or `all`. */
  name: string;
  /** The schema of the selected sections (strict at the top level too), built on first call. */
  schema(): ConfigSchema;
  /** The merged input without the other consumers' sections. */
  select(merged: Record<string, unknown>): Record<string, unknown>;
  /** Whether a problem at this field (dotted path, maybe with a suffix) is this consumer's to report. */
  owns(field: string): boolean;
}

function sectionScope(options: LoadConfigOptions): SectionScope {
  const selected = options.sections ?? (options.service ? CONFIG_SCOPES[options.service] : undefined);
  if (!selected) return { name: 'all', schema: configSchema, select: (m) => m, owns: () => true };
  const mine = new Set<string>(selected);
  /** The section a top-level key belongs to: itself, the section it is a typo of, or none (everyone's). */
  const owner = (key: string): string | undefined =>
    isConfigSection(key) ? key : closestKey(key, CONFIG_SECTIONS);
  const owns = (field: string): boolean => {
    const top = field.split(/[.\s]/)[0] ?? '';
    const section = owner(top);
    return section === undefined || mine.has(section);
  };
  const mask = Object.fromEntries(selected.map((s) => [s, true])) as Partial<Record<ConfigSection, true>>;
  let picked: ConfigSchema | undefined;
  return {
    name: options.sections ? [...selected].sort().join('+') : (options.service ?? 'all'),
    // every section has a default (prefault), so the picked object parses like the whole one
    schema: () => (picked ??= configSchema().pick(mask) as unknown as ConfigSchema),
    select: (merged) => Object.fromEntries(Object.entries(merged).filter(([key]) => owns(key))),
    owns,
  };
}

/** The config path a malformed generic variable aimed at (`BYNINJA__TELEGRAM__X_` → `telegram`), for attribution. */
function overlayPath(variable: string): string {
  const first = variable.startsWith(GENERIC_PREFIX)
    ? variable.slice(GENERIC_PREFIX.length).split('__')[0]
    : '';
  return first ? snakeToCamel(first) : '';
}

function readConfigFile(file: string): { value: Record<string, unknown> } | { problem: ConfigProblem } {
  const read = readJsonFileSync(file, {
    parse: (value) => {
      if (!isPlainObject(value)) throw new Error('the top level must be a JSON object');
      return value;
    },
  });
  if (read.kind === 'valid') return { value: stripComments(read.value) };
  const problem = (message: string): { problem: ConfigProblem } => ({
    problem: { field: 'BYNINJA_CONFIG', value: JSON.stringify(file), message },
  });
  if (read.kind === 'corrupt') {
    // the parser's words (json-file.ts says "not valid JSON: …") or the top-level check's
    const detail = read.reason.replace(/^not valid JSON: /, '');
    return problem(`not valid JSON (${detail}): fix the file (config.example.json shows the format)`);
  }
  const why =
    read.kind === 'missing' ? 'file not found' : `cannot read it (${read.error.code ?? read.error.message})`;
  return problem(`${why}: create it (copy config.example.json) or unset BYNINJA_CONFIG to use the defaults`);
}

/** Keys starting with `//` are comments (config.example.json documents every field that way). */
function stripComments(node: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('//')) delete node[key];
    else if (isPlainObject(value)) stripComments(value);
  }
  return node;
}

/** Removes credential-looking keys from a config object, reporting each one with the variable to use. */
function stripSecrets(
  node: Record<string, unknown>,
  at: string[],
  where: string,
  problems: ConfigProblem[],
  envFields?: Record<string, string>,
): void {
  for (const [key, value] of Object.entries(node)) {
    const here = [...at, key];
    const dotted = here.join('.');
    if (SECRET_KEY.test(key)) {
      delete node[key];
      const origin =
        envFields?.[dotted] ?? Object.entries(envFields ?? {}).find(([f]) => f.startsWith(`${dotted}.`))?.[1];
      problems.push({
        field: origin ? `${dotted} (env ${origin})` : `${dotted} (${where})`,
        value: '[REDACTED]',
        message: `secrets only from the environment: set ${secretEnvFor(here)} in .env${origin ? ` and unset ${origin}` : ` and remove "${dotted}" from ${where.replace(/^file /, '')}`}`,
      });
    } else if (isPlainObject(value)) {
      const before = Object.keys(value).length;
      stripSecrets(value, here, where, problems, envFields);
      // An object that only held credentials (e.g. `"exchange": {"secret": …}`) is gone with them.
      if (before > 0 && Object.keys(value).length === 0) delete node[key];
    }
  }
}

/** The section whose consumer uses each secret (undefined: every consumer does). */
const SECRET_SECTION: Record<keyof Secrets, ConfigSection | undefined> = {
  exchangeApiKey: 'trading',
  exchangeSecret: 'trading',
  exchangePassword: 'trading',
  telegramBotToken: 'telegram',
  ipcToken: undefined,
};

/**
 * A secret's .env line whose unquoted value holds a `#` is cut there by dotenv (env-file-lines.ts): refused, naming
 * the variable, the line and the quoting fix — never the value. Only the secrets this consumer uses, and only those
 * the .env file provides (a variable set in the real environment wins over the line).
 */
function cutSecretProblems(
  text: string,
  envFile: string,
  realEnv: NodeJS.ProcessEnv,
  scope: SectionScope,
): ConfigProblem[] {
  const mine = new Set(
    (Object.entries(SECRET_ENV) as Array<[keyof Secrets, string]>)
      .filter(([key, name]) => {
        const section = SECRET_SECTION[key];
        return (section === undefined || scope.owns(section)) && !realEnv[name]?.trim();
      })
      .map(([, name]) => name),
  );
  return unquotedHashLines(text, mine).map(({ name, line }) => ({
    field: name,
    value: '[REDACTED]',
    message:
      `${envFile} line ${line} holds a "#" outside quotes: dotenv reads it and what follows as a comment, so ` +
      `${name} is cut there. Put the value in quotes (${name}='…', or "…" if it holds a '), and any comment on a line of its own`,
  }));
}

function secretEnvFor(keyPath: string[]): string {
  const key = keyPath[keyPath.length - 1];
  if (/api_?key/i.test(key)) return SECRET_ENV.exchangeApiKey;
  if (/pass/i.test(key)) return SECRET_ENV.exchangePassword;
  if (/token/i.test(key)) return keyPath.includes('ipc') ? SECRET_ENV.ipcToken : SECRET_ENV.telegramBotToken;
  return SECRET_ENV.exchangeSecret;
}

function crossFieldProblems(
  merged: Record<string, unknown>,
  secrets: Secrets,
  sources: ConfigSources,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const trading = merged.trading as Record<string, unknown> | undefined;
  if (trading?.mode === 'live') {
    const from = sources.fields['trading.mode'] ? ` (${sources.fields['trading.mode']})` : '';
    for (const key of ['exchangeApiKey', 'exchangeSecret'] as const) {
      if (secrets[key]) continue;
      problems.push({
        field: SECRET_ENV[key],
        value: '(unset)',
        message: `trading.mode is "live"${from}, which needs exchange credentials: set ${SECRET_ENV[key]} in .env, or use BYNINJA_MODE=paper`,
      });
    }
  }
  // A bot token without TELEGRAM_CHAT_ID is no error: the telegram service runs its bot and writes alerts to its
  // log (it says so at start, and `byninja status` / doctor show it).
  return problems;
}

/**
 * The loopback ports must differ: telegram starts first, so its HTTP port set to trading's TCP port would stop
 * trading from listening (a clash with another program only turns HTTP off; one among our own settings is a
 * configuration error, named here).
 */
function portProblems(config: Partial<Config>, sources: ConfigSources): ConfigProblem[] {
  if (!config.ipc || !config.http?.enabled) return [];
  const ports: Array<[string, number]> = [
    ['ipc.port', config.ipc.port],
    ['http.tradingPort', config.http.tradingPort],
    ['http.telegramPort', config.http.telegramPort],
  ];
  const problems: ConfigProblem[] = [];
  for (const [i, [field, port]] of ports.entries()) {
    const taken = ports.slice(0, i).find(([, other]) => other === port && port !== 0);
    if (!taken) continue;
    const from = sources.fields[field] ? ` (${sources.fields[field]})` : '';
    problems.push({
      field,
      value: String(port),
      message: `is ${taken[0]}'s port too${from}: each of ipc.port, http.tradingPort and http.telegramPort needs its own port`,
    });
  }
  return problems;
}

function leaves(node: Record<string, unknown>, at: string[] = []): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (value && typeof value === 'object' && !Array.isArray(value))
      out.push(...leaves(value as Record<string, unknown>, [...at, key]));
    else out.push([...at, key].join('.'));
  }
  return out;
}

/**
 * Merges `source` into `target` (arrays and scalars replace), copying objects into null-prototype objects so no
 * key can reach a prototype; unsafe keys were already refused (unsafe-keys.ts) and are skipped here too.
 */
function deepMerge(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    if (isUnsafeConfigKey(key)) continue;
    const current = Object.prototype.hasOwnProperty.call(target, key) ? target[key] : undefined;
    if (isPlainObject(value)) {
      const into = isPlainObject(current) ? current : (Object.create(null) as Record<string, unknown>);
      target[key] = deepMerge(into, value);
    } else target[key] = Array.isArray(value) ? structuredClone(value) : value;
  }
  return target;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
