/**
 * What "every trading event delivered exactly once" means, checked from the outside: trading's durable event
 * journal (`<dataDir>/events.jsonl`) against the messages the Bot API emulator received.
 *
 * Messages carry no seq, so events are matched by the text the relay renders for them (trading-event-text.ts),
 * as multisets: an event whose text repeats (two "PnL -2.02" closes) needs as many messages. A `recovery` event
 * is sent alone or merged into a "back online" alert, so it is matched by its summary being contained.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/shared/config/schema';
import type { TradingEvent } from '../../src/shared/ipc/protocol';
import type { RecoverySummary } from '../../src/shared/ipc/protocol';
import { eventNotification, levelOf, recoveryText } from '../../src/telegram/supervisor/trading-event-text';
import type { SentMessage } from '../../harness/telegram-emulator';

type Settings = Config['telegram']['notifications'];

/** Trading's event journal, in seq order; a torn last line (crash mid-append) is skipped. */
export function readTradingEvents(dataDir: string): TradingEvent[] {
  let raw: string;
  try {
    raw = fs.readFileSync(path.join(dataDir, 'events.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const events: TradingEvent[] = [];
  for (const line of raw.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as TradingEvent);
    } catch {
      // torn line
    }
  }
  return events.sort((a, b) => a.seq - b.seq);
}

/** Events the operator should get a message for (setting 'on' or 'silent'). */
export function notifiable(events: TradingEvent[], settings: Settings): TradingEvent[] {
  return events.filter((ev) => levelOf(ev.type, settings) !== 'off');
}

export interface DeliveryMismatch {
  /** The rendered text (or, for recovery, the summary looked for). */
  text: string;
  seqs: number[];
  expected: number;
  delivered: number;
  /** Messages for it sent with the wrong silent flag. */
  wrongSilent: number;
}

/** Every text whose delivered count differs from its event count (empty = each event delivered exactly once). */
export function deliveryMismatches(
  events: TradingEvent[],
  messages: SentMessage[],
  settings: Settings,
): DeliveryMismatch[] {
  const want = new Map<string, { seqs: number[]; recovery: boolean; silent: boolean }>();
  for (const ev of notifiable(events, settings)) {
    const key =
      ev.type === 'recovery'
        ? recoveryText(ev.data as unknown as RecoverySummary)
        : eventNotification(ev, settings)!.text;
    const entry = want.get(key) ?? {
      seqs: [],
      recovery: ev.type === 'recovery',
      silent: levelOf(ev.type, settings) === 'silent',
    };
    entry.seqs.push(ev.seq);
    want.set(key, entry);
  }
  const out: DeliveryMismatch[] = [];
  for (const [text, w] of want) {
    const got = messages.filter((m) => (w.recovery ? m.text.includes(text) : m.text === text));
    // a recovery merged into "back online" follows that alert's own flag
    const wrongSilent = w.recovery ? 0 : got.filter((m) => m.silent !== w.silent).length;
    if (got.length !== w.seqs.length || wrongSilent > 0)
      out.push({ text, seqs: w.seqs, expected: w.seqs.length, delivered: got.length, wrongSilent });
  }
  return out;
}
