/**
 * Reads the pair's files after a run, straight from disk (the daemons are stopped by then), in the formats their
 * owners write: Store envelopes `{ version, data }` (trading-state, paper-exchange, telegram-outbox) and JSONL
 * journals (trading-history, events) whose last line may be torn by a crash.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TradingEvent } from '../../src/shared/ipc/protocol';
import { paperAccountSchema, type PaperAccount } from '../../src/trading/exchange/paper-account';
import {
  HISTORY_JOURNAL_NAME,
  STATE_STORE_NAME,
  validateTradingState,
  type HistoryEntry,
  type TradingState,
} from '../../src/trading/engine/state/trading-state';

export interface ParseProblem {
  file: string;
  problem: string;
}

export function readEnvelope(file: string): unknown {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown; data?: unknown };
  if (
    !parsed ||
    typeof parsed !== 'object' ||
    !Number.isInteger(parsed.version) ||
    parsed.data === undefined
  ) {
    throw new Error('not a { version, data } state envelope');
  }
  return parsed.data;
}

/** JSONL entries; a torn LAST line (crash mid-append) is tolerated, any other bad line is a problem. */
export function readJsonl<T>(file: string): { entries: T[]; tornTail: boolean; badLines: number } {
  if (!fs.existsSync(file)) return { entries: [], tornTail: false, badLines: 0 };
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const entries: T[] = [];
  let badLines = 0;
  let tornTail = false;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      entries.push(JSON.parse(line) as T);
    } catch {
      if (i === lines.length - 1) tornTail = true;
      else badLines += 1;
    }
  });
  return { entries, tornTail, badLines };
}

export function readTradingState(dataDir: string): TradingState {
  return validateTradingState(readEnvelope(path.join(dataDir, `${STATE_STORE_NAME}.json`)));
}

export function readPaperAccount(dataDir: string): PaperAccount {
  return paperAccountSchema.parse(readEnvelope(path.join(dataDir, 'paper-exchange.json')));
}

export function readHistory(dataDir: string): HistoryEntry[] {
  return readJsonl<HistoryEntry>(path.join(dataDir, `${HISTORY_JOURNAL_NAME}.jsonl`)).entries;
}

export function readEvents(dataDir: string): TradingEvent[] {
  return readJsonl<TradingEvent>(path.join(dataDir, 'events.jsonl')).entries;
}

/** Entries still waiting in telegram's outbox, or undefined when the file cannot be read. */
export function outboxDepth(dataDir: string): number | undefined {
  try {
    const data = readEnvelope(path.join(dataDir, 'telegram-outbox.json')) as { entries?: unknown[] };
    return Array.isArray(data.entries) ? data.entries.length : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every state file of the data dir: each `.json` must be a valid envelope, each `.jsonl` may only have a torn
 * last line, and a quarantined file (`*.corrupt-*`) means a daemon found one corrupt during the run.
 */
export function checkStateFiles(dataDir: string): { checked: string[]; problems: ParseProblem[] } {
  const checked: string[] = [];
  const problems: ParseProblem[] = [];
  for (const name of fs.readdirSync(dataDir).sort()) {
    const file = path.join(dataDir, name);
    if (!fs.statSync(file).isFile()) continue;
    if (name.includes('.corrupt-')) {
      problems.push({ file: name, problem: 'quarantined as corrupt during the run' });
      continue;
    }
    if (name.endsWith('.json') || name.endsWith('.json.prev')) {
      checked.push(name);
      try {
        readEnvelope(file);
      } catch (err) {
        // lock files, breadcrumbs and status records are plain JSON, not envelopes: they only have to parse
        try {
          JSON.parse(fs.readFileSync(file, 'utf8'));
          if (!/lock|last-exit|config-error|delivery|breadcrumb|marker|cursor/i.test(name))
            problems.push({ file: name, problem: (err as Error).message });
        } catch (parseErr) {
          problems.push({ file: name, problem: `does not parse: ${(parseErr as Error).message}` });
        }
      }
    } else if (name.endsWith('.jsonl')) {
      checked.push(name);
      const { badLines } = readJsonl(file);
      if (badLines > 0)
        problems.push({ file: name, problem: `${badLines} unparseable line(s) before the last` });
    }
  }
  return { checked, problems };
}
