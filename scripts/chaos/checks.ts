/**
 * The invariants checked after the faults. Order: with trading still running, pause entries and ask it to
 * reconcile; then stop trading cleanly through PM2, let telegram drain its outbox, and read every file from disk.
 *
 *  - duplicate clientOrderIds on the exchange        0
 *  - orphan orders (open on the exchange with our prefix, unknown to trading state)   0
 *  - reconcile differences (trading's own state ↔ exchange comparison)                0
 *  - fills: every fill of our orders on the exchange is in trading's state/history and vice versa, and
 *    the positions derived from trading's fills equal the exchange's balances (base currency) per symbol
 *  - every state file parses (and nothing was quarantined)
 *  - crashes vs crash alerts: every crash PM2 saw is alerted (coalesced "×N" and "restarted N times" add up)
 *  - trading events vs delivered notifications: each exactly once
 */
import { configSchema } from '../../src/shared/config/schema';
import type { ReconcileDifference, RecoverySummary } from '../../src/shared/ipc/protocol';
import { derivePositions, fillKey, type Fill } from '../../src/trading/engine/books/pnl';
import { eventNotification, recoveryText } from '../../src/telegram/supervisor/trading-event-text';
import { ALERT_CHAT_ID, type ChaosCluster } from './cluster';
import { CRASHES, DISK_KINDS, type FaultRecord } from './faults';
import type { ProcessEvent } from './pm2-session';
import {
  checkStateFiles,
  outboxDepth,
  readEvents,
  readHistory,
  readPaperAccount,
  readTradingState,
} from './files';

export interface CheckRow {
  name: string;
  found: string;
  expected: string;
  ok: boolean;
  detail?: string;
}

/** Notification settings of the chaos run (every event type on); CHAOS_ENV sets the same in the daemons. */
export const CHAOS_NOTIFICATIONS = configSchema().parse({
  telegram: { notifications: { orderPlaced: 'on', orderCancelled: 'on', positionOpened: 'on' } },
}).telegram.notifications;

const BOT_ID = configSchema().parse({}).app.botId;
const EPS = 1e-9;
/** A copy stored this close to a cut of Telegram connections may have lost its answer. */
const CUT_WINDOW_MS = 3_000;

export interface CheckInput {
  crashes: Record<'trading' | 'telegram', number>;
  faults: FaultRecord[];
  log: (msg: string) => void;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** "×3 in 2 min (latest shown)" → 3; 1 when the message was not coalesced. */
export function coalescedCount(text: string): number {
  const m = /×(\d+) in /.exec(text);
  return m ? Number(m[1]) : 1;
}

/** Crashes a message reports for `service`: a crash alert, a missed-restarts re-sync, or a self-crash notice. */
export function crashesReported(text: string, service: string): number {
  const k = coalescedCount(text);
  if (text.includes(`<b>${service} crashed</b>`)) return k;
  const missed = new RegExp(`<b>${service} restarted (once|(\\d+) times) while`).exec(text);
  if (missed) return k * (missed[2] ? Number(missed[2]) : 1);
  if (text.includes(`<b>${service} restarted after an unclean end</b>`)) return k;
  return 0;
}

export async function runChecks(cluster: ChaosCluster, input: CheckInput): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const log = input.log;

  // 1. Trading still running: pause entries (exits still run), then reconcile until quiet.
  await cluster.waitTradingRunning(90_000).catch(() => undefined);
  await cluster
    .call('pause', { reason: 'chaos run: checking invariants' })
    .catch((err: Error) => log(`pause failed: ${err.message}`));
  let differences: ReconcileDifference[] | undefined;
  let reconcileError: string | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    await sleep(1_000);
    try {
      differences = (await cluster.call('reconcile', {}, 10_000)).differences;
      reconcileError = undefined;
      if (differences.length === 0) break;
    } catch (err) {
      reconcileError = (err as Error).message;
    }
  }
  rows.push({
    name: 'reconcile differences (trading state ↔ exchange)',
    found: differences ? String(differences.length) : 'n/a',
    expected: '0',
    ok: differences?.length === 0,
    detail:
      reconcileError ??
      differences
        ?.slice(0, 3)
        .map((d) => `${d.kind} ${d.clientOrderId ?? ''}: ${d.detail}`)
        .join('; '),
  });

  // 2. Stop trading cleanly so its files are quiet; telegram keeps running to drain the outbox.
  const exitsOf = (name: string): ProcessEvent[] =>
    cluster.pm2.events.filter((e) => e.name === name && e.event === 'exit');
  // before the clean stop below, whose exits are not crashes
  const exitsBeforeStop = { trading: exitsOf('trading'), telegram: exitsOf('telegram') };
  const crashEventsSeen = {
    trading: exitsBeforeStop.trading.length,
    telegram: exitsBeforeStop.telegram.length,
  };
  /** Exits no fault explains: not within 10 s after a kill/stall signal a fault sent to that service. */
  const unexplainedExits = (service: 'trading' | 'telegram'): string[] =>
    exitsBeforeStop[service]
      .filter(
        (e) =>
          !input.faults.some(
            (f) =>
              CRASHES[f.kind]?.service === service &&
              f.signalledAt.some((t) => e.at >= t - 500 && e.at <= t + 10_000),
          ),
      )
      .map((e) => `${new Date(e.at).toISOString().slice(11, 23)} code ${e.exitCode ?? '?'}`);
  await cluster.pm2.harness.pm2(['stop', 'trading']);
  const drainDeadline = Date.now() + 90_000;
  await sleep(2_000);
  let depth = outboxDepth(cluster.dataDir);
  while ((depth === undefined || depth > 0) && Date.now() < drainDeadline) {
    await sleep(250);
    depth = outboxDepth(cluster.dataDir);
  }
  log(`outbox drained (depth ${depth ?? 'unknown'})`);

  // 3. Files: the bot's data dir and the paper exchange's own dir (trading.paper.dataDir).
  const botFiles = checkStateFiles(cluster.dataDir);
  const exchangeFiles = checkStateFiles(cluster.paperDir);
  const files = {
    checked: [...botFiles.checked, ...exchangeFiles.checked.map((f) => `exchange/${f}`)],
    problems: [
      ...botFiles.problems,
      ...exchangeFiles.problems.map((p) => ({ ...p, file: `exchange/${p.file}` })),
    ],
  };
  rows.push({
    name: 'state files parse (none quarantined)',
    found: `${files.checked.length - new Set(files.problems.map((p) => p.file)).size}/${files.checked.length} ok`,
    expected: 'all',
    ok: files.problems.length === 0,
    detail: files.problems.map((p) => `${p.file}: ${p.problem}`).join('; ') || files.checked.join(', '),
  });

  const account = readPaperAccount(cluster.paperDir);
  const state = readTradingState(cluster.dataDir);
  const history = readHistory(cluster.dataDir);
  const ours = Object.values(account.orders).filter((o) => o.clientOrderId.startsWith(`${BOT_ID}-`));

  const byClient = new Map<string, number>();
  for (const o of Object.values(account.orders))
    byClient.set(o.clientOrderId, (byClient.get(o.clientOrderId) ?? 0) + 1);
  const dups = [...byClient.entries()].filter(([, n]) => n > 1);
  rows.push({
    name: 'duplicate clientOrderIds on the exchange',
    found: String(dups.length),
    expected: '0',
    ok: dups.length === 0,
    detail: dups.length
      ? dups
          .slice(0, 5)
          .map(([id, n]) => `${id} ×${n}`)
          .join(', ')
      : `${ours.length} orders of ours on the exchange`,
  });

  const orphans = ours.filter((o) => o.status === 'open' && !state.orders[o.clientOrderId]);
  rows.push({
    name: 'orphan orders (open on the exchange, unknown to trading)',
    found: String(orphans.length),
    expected: '0',
    ok: orphans.length === 0,
    detail:
      orphans
        .slice(0, 5)
        .map((o) => o.clientOrderId)
        .join(', ') || `${ours.filter((o) => o.status === 'open').length} open, all known`,
  });

  // 4. Fills and positions.
  const hotFills: Fill[] = Object.values(state.orders).flatMap((o) => o.fills);
  const localKeys = new Set([...hotFills, ...history.flatMap((h) => h.order.fills)].map(fillKey));
  const exchangeTrades = ours.flatMap((o) => o.trades);
  const exchangeKeys = new Set(exchangeTrades.map((t) => fillKey({ orderId: t.orderId, tradeId: t.id })));
  const exchangeOrderIds = new Set(ours.map((o) => o.id));
  const missingLocally = [...exchangeKeys].filter((k) => !localKeys.has(k));
  // the paper exchange forgets old closed orders (retention): only fills of orders it still has can be compared
  const unknownToExchange = [...localKeys].filter(
    (k) => exchangeOrderIds.has(k.split(':')[0]) && !exchangeKeys.has(k),
  );
  // Positions against the exchange's balances: only this bot trades the paper account, fees are charged in the
  // quote currency, so each symbol's base balance is exactly the bot's position — and, unlike the order history
  // (the paper exchange keeps the last 500 closed orders), balances remember every fill.
  // the paper exchange numbers its trades as it makes them (ExchangeTraits fillOrder)
  const positions = derivePositions(state.checkpoint, hotFills, {}, 'trade-id');
  const startingBalances = configSchema().parse({}).trading.paper.startingBalances;
  const symbols = new Set([...Object.keys(positions), ...ours.map((o) => o.symbol)]);
  const amountDiffs = [...symbols]
    .map((s) => {
      const base = s.split('/')[0];
      const bal = account.balances[base];
      const exchange = (bal ? bal.free + bal.used : 0) - (startingBalances[base] ?? 0);
      return { s, local: positions[s]?.amount ?? 0, exchange };
    })
    .filter((d) => Math.abs(d.local - d.exchange) > EPS * Math.max(1, Math.abs(d.exchange)));
  rows.push({
    name: 'fills: exchange ↔ trading state + history',
    found: `${missingLocally.length} missing locally, ${unknownToExchange.length} unknown to exchange`,
    expected: '0, 0',
    ok: missingLocally.length === 0 && unknownToExchange.length === 0,
    detail:
      `${exchangeKeys.size} fills on the exchange, ${localKeys.size} in trading` +
      (missingLocally.length ? `; e.g. ${missingLocally.slice(0, 3).join(', ')}` : ''),
  });
  rows.push({
    name: 'positions (from trading fills) vs exchange balances',
    found: amountDiffs.length
      ? amountDiffs.map((d) => `${d.s} ${d.local} vs ${d.exchange}`).join('; ')
      : 'equal',
    expected: 'equal',
    ok: amountDiffs.length === 0,
    detail: [...symbols].map((s) => `${s} ${(positions[s]?.amount ?? 0).toFixed(8)}`).join(', '),
  });

  // 5. Crashes vs alerts.
  const messages = cluster.telegram.sentMessages(ALERT_CHAT_ID);
  for (const service of ['trading', 'telegram'] as const) {
    const alerted = messages.reduce((sum, m) => sum + crashesReported(m.text, service), 0);
    const pm2Exits = crashEventsSeen[service];
    const caused = input.crashes[service];
    // telegram cannot see its own exit on the bus while it is dead; PM2's count covers both
    rows.push({
      name: `${service} crashes vs crash alerts`,
      found: `${alerted} alerted / ${pm2Exits} PM2 exits / ${caused} caused`,
      expected: 'alerted = PM2 exits = caused',
      ok: alerted === pm2Exits && pm2Exits === caused,
      detail:
        `${messages.filter((m) => crashesReported(m.text, service) > 1).length} coalesced message(s)` +
        (unexplainedExits(service).length
          ? `; exits no fault explains: ${unexplainedExits(service).join(', ')}`
          : '') +
        (pm2Exits > caused
          ? `; exit codes ${exitsBeforeStop[service].map((e) => e.exitCode ?? '?').join(',')}`
          : ''),
    });
  }

  // 6. Trading events vs delivered notifications. A `recovery` event is delivered either on its own or merged into
  //    trading's "back online" message (bus-listener offerRecovery): its summary text must appear in one message.
  //    Everything else must arrive as exactly its rendered text. Multisets, so equal texts are counted, not merged.
  const events = readEvents(cluster.dataDir);
  const expected = new Map<string, { seqs: number[]; contained: boolean }>();
  for (const ev of events) {
    const n = eventNotification(ev, CHAOS_NOTIFICATIONS);
    if (!n) continue;
    const contained = ev.type === 'recovery';
    const key = contained ? recoveryText(ev.data as unknown as RecoverySummary) : n.text;
    const entry = expected.get(key) ?? { seqs: [], contained };
    entry.seqs.push(ev.seq);
    expected.set(key, entry);
  }
  let missing = 0;
  let duplicated = 0;
  let explained = 0;
  const missingSeqs: number[] = [];
  const cuts = input.faults.map((f) => f.cutAt).filter((t): t is number => t !== undefined);
  for (const [key, { seqs, contained }] of expected) {
    const copies = messages.filter((m) =>
      contained ? m.text.split('\n').slice(1).join('\n').startsWith(key) : m.text === key,
    );
    const got = copies.length;
    if (got < seqs.length) {
      missing += seqs.length - got;
      missingSeqs.push(...seqs.slice(got));
    }
    if (got > seqs.length) {
      duplicated += got - seqs.length;
      // Telegram stored the first copy but its answer was lost to a cut (the outbox then re-sends): at-least-once
      if (copies.some((m) => cuts.some((c) => Math.abs(m.at - c) <= CUT_WINDOW_MS)))
        explained += got - seqs.length;
    }
  }
  const expectedCount = [...expected.values()].reduce((s, v) => s + v.seqs.length, 0);
  const missingDetail = missingSeqs
    .slice(0, 8)
    .map((seq) => `${seq} (${events.find((e) => e.seq === seq)?.type ?? '?'})`)
    .join(', ');
  rows.push({
    name: 'trading events vs delivered notifications',
    found: `${expectedCount} events, ${missing} missing, ${duplicated} duplicated (${explained} by a lost answer)`,
    expected: 'each exactly once*',
    ok: missing === 0 && duplicated === explained,
    detail: missingSeqs.length
      ? `missing seqs ${missingDetail}`
      : `seq ${events[0]?.seq ?? '-'}…${events[events.length - 1]?.seq ?? '-'}`,
  });

  // 7. Disk faults: every `persist.failed` (also one the event log refused at first, published late) is followed by
  //    a `trading.resumed` by persist — trading came back by itself, nothing was left blocked.
  const diskFaults = input.faults.filter((f) => DISK_KINDS.includes(f.kind));
  if (diskFaults.length > 0) {
    let open = 0;
    let pairs = 0;
    let unpaired = 0;
    for (const ev of events) {
      if (ev.type === 'persist.failed') {
        if (open > 0) unpaired += 1; // a second failure before the resume of the first
        open = 1;
      } else if (ev.type === 'trading.resumed' && (ev.data as { by?: string }).by === 'persist') {
        if (open > 0) pairs += 1;
        else unpaired += 1;
        open = 0;
      }
    }
    const noticed = diskFaults.filter((f) => f.persistBlocked).length;
    rows.push({
      name: 'disk faults: persist.failed → trading.resumed',
      found: `${pairs} resumed, ${unpaired + open} unpaired`,
      expected: 'every failure resumed',
      ok: unpaired + open === 0,
      detail: `${diskFaults.length} disk faults, trading blocked new orders during ${noticed} (the others needed no write)`,
    });
  }

  // 8. Recovery (every fault recovered).
  const failed = input.faults.filter((f) => f.error);
  rows.push({
    name: 'faults recovered',
    found: `${input.faults.length - failed.length}/${input.faults.length}`,
    expected: 'all',
    ok: failed.length === 0 && input.faults.length > 0,
    detail: failed.map((f) => `#${f.index + 1} ${f.kind}: ${f.error}`).join('; '),
  });
  return rows;
}
