/**
 * Pure renderers of ops data, shared by the bot (Telegram HTML) and the CLI (plain text): the same words in both,
 * only the markup differs. Every value that comes from outside (symbols, reasons, log lines) goes through
 * `m.esc`, so a `<` in an error message can never break Telegram's HTML parser. Time is an argument (`now`).
 */
import { formatSpan } from '../shared/format-span';
import type {
  ApiKeyStatus,
  BalanceView,
  CloseAllResult,
  LastExit,
  OrderView,
  PnlPeriod,
  PnlReport,
  PositionView,
  RiskEquityView,
  TradingStatus,
} from '../shared/ipc/protocol';
import type { LogTail } from './log-tail';
import type { RestartOutcome } from './restart';
import { describeServiceState, type ServiceState } from './service-state';
import type { ServiceReport, StatusReport } from './status-report';
import type { MovedChat, TelegramDelivery } from './telegram-delivery';

export interface Markup {
  esc(text: string): string;
  /** Bold; the argument is raw text (escaped inside). */
  b(text: string): string;
  /** Inline code; raw text. */
  code(text: string): string;
  /** A preformatted block of raw lines. */
  pre(lines: string[]): string;
}

/** Escapes text for Telegram's HTML parse mode (`&`, `<`, `>`; quotes only matter inside attributes). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const htmlMarkup: Markup = {
  esc: escapeHtml,
  b: (t) => `<b>${escapeHtml(t)}</b>`,
  code: (t) => `<code>${escapeHtml(t)}</code>`,
  pre: (lines) => `<pre>${escapeHtml(lines.join('\n'))}</pre>`,
};

export const plainMarkup: Markup = {
  esc: (t) => t,
  b: (t) => t,
  code: (t) => t,
  pre: (lines) => lines.join('\n'),
};

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${bytes} B`;
}

export function formatAmount(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatSigned(value: number, digits = 2): string {
  return `${value > 0 ? '+' : ''}${formatAmount(value, digits)}`;
}

/** Base amounts: up to 8 decimals, trailing zeros dropped. */
function formatQty(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toFixed(8))) : String(value);
}

function describeLastRun(run: LastExit, now: number): string {
  const when = run.at !== undefined ? `, ${formatSpan(now - run.at)} ago` : '';
  return `${run.kind}${run.reason ? ` (${run.reason})` : ''}${when}`;
}

const STATE_ICON: Record<ServiceState['kind'], string> = {
  online: '🟢',
  'not-ready': '🟡',
  'not-in-pm2': '⚫',
  'config-error': '🔴',
  restarting: '🟠',
  'gave-up': '🔴',
  stopped: '⚪',
  starting: '🟡',
  stopping: '🟡',
  other: '🟠',
};

function formatService(svc: ServiceReport, now: number, m: Markup): string[] {
  const lines: string[] = [];
  const p = svc.pm2;
  const icon = STATE_ICON[svc.state.kind];
  if (!p || svc.state.kind !== 'online') {
    const restarts = p && svc.state.kind !== 'restarting' ? ` (restarts ${p.restarts})` : '';
    lines.push(`${icon} ${m.b(svc.name)} — ${m.esc(describeServiceState(svc.name, svc.state) + restarts)}`);
    if (svc.state.kind === 'config-error' && svc.state.failure) {
      for (const problem of svc.state.failure.problems)
        lines.push(`   ${m.esc(`${problem.field} = ${problem.value}: ${problem.message}`)}`);
    }
  } else {
    const parts = [p.status];
    if (p.uptimeMs !== null) parts.push(`up ${formatSpan(p.uptimeMs)}`);
    parts.push(`restarts ${p.restarts}`, formatBytes(p.memoryBytes), `CPU ${p.cpuPercent}%`);
    lines.push(`${icon} ${m.b(svc.name)} — ${m.esc(parts.join(', '))}`);
  }
  if (svc.lastRun) lines.push(`   last run: ${m.esc(describeLastRun(svc.lastRun, now))}`);
  if (svc.build?.current) lines.push(`   ${m.esc(describeOldBuild(svc.build.name, svc.build.current))}`);
  return lines;
}

/** What the operator is told: what happened, what ByNinja does meanwhile, and the exact settings to change. */
/** A service running a build older than the current one: what a restart changes, and the fix. */
export function describeOldBuild(running: string, current: string): string {
  return (
    `runs build ${running}; dist/ is now ${current} (built since it started): ` +
    '`npm run upgrade` restarts the pair onto it one at a time (a crash would bring this one back on it alone)'
  );
}

export function describeMovedChat(moved: MovedChat): string {
  const what = `Telegram upgraded group ${moved.from} to a supergroup: its chat id is now ${moved.to}`;
  if (moved.settings.length === 0) return `${what}; messages for ${moved.from} go to ${moved.to}`;
  const fixes = moved.settings.map((s) =>
    s === 'TELEGRAM_CHAT_ID'
      ? `TELEGRAM_CHAT_ID=${moved.to}`
      : `TELEGRAM_ALLOWED_CHAT_IDS: ${moved.to} in place of ${moved.from}`,
  );
  const meanwhile = [
    ...(moved.settings.includes('TELEGRAM_CHAT_ID') ? [`alerts go to ${moved.to}`] : []),
    ...(moved.settings.includes('TELEGRAM_ALLOWED_CHAT_IDS')
      ? [`commands from ${moved.to} are accepted as ${moved.from}'s were`]
      : []),
  ];
  return (
    `${what}. Change .env: ${fixes.join('; ')} — then \`npm restart\`. ` +
    `Until then ByNinja follows the move: ${meanwhile.join(', and ')}`
  );
}

/** Where alerts go, and the Telegram-side problem in progress with what to do about it. */
export function describeTelegramDelivery(d: TelegramDelivery, now: number): string {
  const p = d.problem;
  const since = p ? ` for ${formatSpan(now - p.since)}` : '';
  if (p?.kind === 'unauthorized')
    return (
      `⚠️ Telegram rejects the bot token (401)${since} — alerts go to the log only (\`npx pm2 logs telegram\`), ` +
      'the Bot API is retried with backoff; fix TELEGRAM_BOT_TOKEN in .env, then `npx byninja restart telegram`'
    );
  if (p?.kind === 'chat-refused')
    return (
      `⚠️ Telegram refuses the alert chat${since} (${p.detail}) — alerts go to the log only; ` +
      'check TELEGRAM_CHAT_ID, and that the bot is a member of that chat and may post there (not muted; an admin ' +
      'allowed to post in a channel)'
    );
  if (p?.kind === 'conflict')
    return (
      `⚠️ Telegram refuses polling with this bot token (409)${since} (${p.detail}): commands do not reach this bot ` +
      '(alerts still go out); stop the other bot instance, or the other deployment that sets a webhook on this token'
    );
  if (p?.kind === 'unreachable')
    return `⚠️ Telegram Bot API unreachable${since} (${p.detail}) — alerts wait in the outbox, retried with backoff`;
  if (d.logOnlyReason === 'no-token')
    return 'Telegram: log-only mode (no TELEGRAM_BOT_TOKEN): alerts go to the log';
  if (d.logOnlyReason === 'no-chat-id')
    return 'Telegram: bot running, TELEGRAM_CHAT_ID not set: alerts go to the log only';
  return 'Telegram: alerts delivered to the chat';
}

/** "paper, simulated market" — never "paper, paper": the paper exchange's id is its mode. */
export function describeVenue(mode: string, exchange: string): string {
  if (exchange === mode || exchange === 'paper') return `${mode}, simulated market`;
  return `${mode}, ${exchange}`;
}

function formatTradingView(t: TradingStatus, now: number, m: Markup): string[] {
  const q = t.quoteCurrency;
  const state =
    t.loopState === 'waiting-exchange'
      ? `⏳ waiting for ${t.exchange}${t.exchangeError ? `: ${t.exchangeError}` : ''} (retrying; nothing is traded until ${t.exchangeAccountRefused ? 'it takes the account' : t.exchangeKeyRefused ? 'it takes the key' : 'it answers'})`
      : t.paused
        ? `⏸ paused${t.pausedReason ? `: ${t.pausedReason}` : ''}`
        : t.loopState === 'running'
          ? '▶️ running'
          : `⏳ ${t.loopState}`;
  const tick = t.lastTickAgeMs === null ? 'no tick yet' : `last tick ${formatSpan(t.lastTickAgeMs)} ago`;
  const downFor =
    t.exchangeUnreachableSince !== undefined ? ` for ${formatSpan(now - t.exchangeUnreachableSince)}` : '';
  // a refused key is no outage: the exchange answers, a person must fix the key (or its allow-list, its permissions)
  const exchange = t.exchangeReachable
    ? 'exchange reachable'
    : t.exchangeAccountRefused
      ? `the account's requests refused${downFor} (not the API key)${t.exchangeError ? `: ${t.exchangeError}` : ''}`
      : t.exchangeKeyRefused
        ? `API key refused${downFor}: check EXCHANGE_API_KEY / EXCHANGE_SECRET (/ EXCHANGE_PASSWORD), the key's IP allow-list and its spot trading permission`
        : `exchange UNREACHABLE${downFor}`;
  return [
    `${m.b('Trading')} (${m.esc(`${describeVenue(t.mode, t.exchange)}, ${t.botId} v${t.version}`)})`,
    `  ${m.esc(state)}`,
    `  equity ${m.esc(`${formatAmount(t.equity)} ${q}`)} · PnL today ${m.esc(formatSigned(t.pnlToday))} · total ${m.esc(formatSigned(t.pnlTotal))}`,
    ...(t.riskEquity ? [`  ${m.esc(riskEquityText(t.riskEquity, q))}`] : []),
    `  positions ${t.openPositions} · open orders ${t.openOrders}`,
    ...(t.ordersHolding
      ? [
          `  ⚠️ ${m.esc(
            `${t.ordersHolding} order${t.ordersHolding === 1 ? '' : 's'} in question ` +
              `${t.ordersHolding === 1 ? 'holds its symbol' : 'hold their symbols'} (stop-loss included) until ` +
              `found or settled by you: /settle lists ${t.ordersHolding === 1 ? 'it' : 'them'} with the commands ` +
              `that settle each`,
          )}`,
        ]
      : []),
    `  ${m.esc(tick)} · ${t.exchangeReachable ? '✅' : t.exchangeKeyRefused ? '🔑' : '⚠️'} ${m.esc(exchange)}`,
    ...(t.staleSymbols ?? []).map(
      (s) =>
        `  🧊 ${m.esc(`${s.symbol} prices stale for ${formatSpan(Math.max(0, now - s.since))} (${s.reason}): no entries`)}`,
    ),
    ...keyLines(t.apiKey, now, m),
  ];
}

function keyLines(k: ApiKeyStatus | undefined, now: number, m: Markup): string[] {
  const text = k ? apiKeyText(k, now) : undefined;
  return text ? [`  ${m.esc(text)}`] : [];
}

/**
 * What /status says of the API key (key-watch.ts), or undefined when there is nothing to say: its end (and how far
 * away), a key that cannot trade or may withdraw, a read that failed.
 */
export function apiKeyText(k: ApiKeyStatus, now: number): string | undefined {
  const parts: string[] = [];
  if (k.expiresAt !== undefined) {
    const left = k.expiresAt - now;
    parts.push(
      left <= 0
        ? `⛔ API key EXPIRED at ${new Date(k.expiresAt).toISOString()} (${k.expiryField ?? 'key expiry'}): trading stopped`
        : `${left <= 14 * 86_400_000 ? '⚠️' : '🔑'} API key expires ${new Date(k.expiresAt).toISOString()} (in ${formatSpan(left)}, ${k.expiryField ?? 'key expiry'})`,
    );
  }
  if (k.spotTrade === false) parts.push('⛔ API key cannot trade spot');
  if (k.withdraw === true) parts.push('⚠️ API key may withdraw (turn it off)');
  if (k.readError !== undefined && k.readAt === undefined)
    parts.push(`API key limits not read: ${k.readError}`);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

export function formatStatus(report: StatusReport, m: Markup): string {
  const now = report.generatedAt;
  const lines: string[] = [m.b('📊 ByNinja status')];
  if (!report.pm2.reachable) lines.push(`⚠️ PM2 unreachable: ${m.esc(report.pm2.error ?? 'unknown error')}`);
  for (const svc of report.services) lines.push(...formatService(svc, now, m));
  lines.push('');
  if (report.trading.reachable) lines.push(...formatTradingView(report.trading.status, now, m));
  else lines.push(`⚠️ ${m.b('Trading unreachable')}: ${m.esc(report.trading.reason)}`);
  if (report.link) {
    const since = report.link.since !== undefined ? ` for ${formatSpan(now - report.link.since)}` : '';
    const why = !report.link.up && report.link.reason ? ` (${report.link.reason})` : '';
    lines.push(`TCP link: ${m.esc(`${report.link.up ? 'up' : 'DOWN'}${since}${why}`)}`);
  }
  if (report.outboxDepth !== undefined) lines.push(`Outbox: ${report.outboxDepth} waiting`);
  if (report.telegram) lines.push(m.esc(describeTelegramDelivery(report.telegram, now)));
  for (const moved of report.telegram?.movedChats ?? [])
    if (moved.settings.length) lines.push(m.esc(`⚠️ ${describeMovedChat(moved)}`));
  return lines.join('\n');
}

export function formatPositions(
  positions: PositionView[],
  quote: string | undefined,
  m: Markup,
  now: number,
): string {
  if (positions.length === 0) return 'No open positions.';
  const lines = [m.b(`📈 Open positions (${positions.length})`)];
  for (const p of positions) {
    const last = p.lastPrice !== undefined ? ` → ${formatQty(p.lastPrice)}` : '';
    lines.push(
      // the entry price is the cost per unit, buy fees included: say so (the fill price is in the order)
      `${m.b(p.symbol)} ${m.esc(formatQty(p.amount))} @ ${m.esc(formatQty(p.averageEntryPrice))} (cost per unit, fees included${p.feesEstimated ? ', a fee estimated' : ''})${m.esc(last)}`,
      `  uPnL ${m.esc(formatSigned(p.unrealizedPnl))}${quote ? ` ${m.esc(quote)}` : ''} · ${p.openedAt > 0 ? `open ${m.esc(formatSpan(now - p.openedAt))}` : 'left by an earlier trade'}`,
    );
  }
  return lines.join('\n');
}

/** `total` above `orders.length`: only the most recent orders are shown (a chat message stays readable). */
export function formatOrders(orders: OrderView[], all: boolean, m: Markup, total = orders.length): string {
  if (orders.length === 0) return all ? 'No orders.' : 'No open orders.';
  const lines = [m.b(`🧾 ${all ? 'Orders' : 'Open orders'} (${total})`)];
  if (total > orders.length)
    lines.push(m.esc(`… the last ${orders.length} shown; byninja orders --all lists every one`));
  for (const o of orders) {
    const price = o.price !== undefined ? ` @ ${formatQty(o.price)}` : '';
    lines.push(
      `${m.code(o.clientOrderId)} ${m.esc(`${o.side} ${formatQty(o.amount)} ${o.symbol} ${o.type}${price}`)}`,
      `  ${m.esc(`${describeFill(o)}, ${o.purpose}`)}`,
    );
  }
  return lines.join('\n');
}

/** "filled @ 58481.45", "open, 0.5 of 1 filled @ 100", "cancelled, nothing filled" — never "filled, filled 0.00163". */
export function describeFill(o: Pick<OrderView, 'status' | 'filled' | 'amount' | 'averagePrice'>): string {
  const at = o.averagePrice !== undefined && o.filled > 0 ? ` @ ${formatQty(o.averagePrice)}` : '';
  if (o.status === 'filled') return `filled${o.filled !== o.amount ? ` ${formatQty(o.filled)}` : ''}${at}`;
  if (o.filled <= 0) return `${o.status}, nothing filled`;
  return `${o.status}, ${formatQty(o.filled)} of ${formatQty(o.amount)} filled${at}`;
}

export function formatBalance(balance: BalanceView, m: Markup): string {
  const lines = [
    m.b('💰 Balance'),
    `equity ${m.esc(`${formatAmount(balance.equity)} ${balance.quoteCurrency}`)}`,
  ];
  const currencies = Object.entries(balance.currencies).filter(([, c]) => c.total !== 0);
  for (const [ccy, c] of currencies.sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(
      `${m.b(ccy)} ${m.esc(`${formatQty(c.total)} (free ${formatQty(c.free)}, used ${formatQty(c.used)})`)}`,
    );
  }
  return lines.join('\n');
}

export function formatLogTail(tail: LogTail, m: Markup): string {
  const parts: string[] = [m.b(`📜 ${tail.service} logs (last ${tail.lines} lines per file)`)];
  for (const src of tail.sources) {
    parts.push(`${m.b(src.kind)} ${m.code(src.file)}`);
    if (src.missing) parts.push('(no such file)');
    else if (src.lines.length === 0) parts.push('(empty)');
    else parts.push(m.pre(src.lines));
  }
  return parts.join('\n');
}

/**
 * What a restart did, one line per service. `how.status`: where to look meanwhile when PM2 has not answered yet
 * (`/status`, `byninja status`); `how.late`: what follows then (the bot tells the late outcome, the CLI cannot).
 */
export function formatRestartOutcomes(
  outcomes: RestartOutcome[],
  m: Markup,
  how: { status: string; late?: string },
): string {
  return outcomes
    .map((o) =>
      o.ok
        ? `✅ ${m.b(o.service)} restarted (${m.esc(`restarts ${o.restartsBefore ?? '?'} → ${o.restartsAfter ?? '?'}, ${o.status ?? '?'}`)})`
        : o.noAnswerYet
          ? `⏳ ${m.b(o.service)}: no answer from PM2 yet — PM2 may still be doing it; see ${m.esc(how.status)}` +
            `${how.late ? ` (${m.esc(how.late)})` : ''}. ${m.esc(o.error ?? '')}`.trimEnd()
          : `❌ ${m.b(o.service)} not restarted: ${m.esc(o.error ?? 'unknown error')}`,
    )
    .join('\n');
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** What close-all did: cancelled orders, market sells sent, symbols skipped and why, the pause it left. */
export function formatCloseAll(
  result: CloseAllResult,
  m: Markup,
  how: { again: string; resume: string },
): string {
  const lines: string[] = [];
  if (result.cancelled.length > 0) {
    lines.push(
      `❎ Cancelled ${plural(result.cancelled.length, 'open order')}: ` +
        result.cancelled.map((id) => m.code(id)).join(', '),
    );
  }
  lines.push(
    result.orders.length === 0
      ? 'No position to close.'
      : `🧹 Close-all sent: ${plural(result.orders.length, 'market sell')}\n` +
          result.orders.map((id) => m.code(id)).join('\n'),
  );
  for (const { symbol, reason } of result.skipped)
    lines.push(`⚠️ ${m.esc(symbol)} not closed: ${m.esc(reason)} — ${m.esc(how.again)} once it settles`);
  if (result.paused)
    lines.push(`⏸ Entries paused so the strategy does not reopen them; ${m.esc(how.resume)} to trade again.`);
  return lines.join('\n');
}

/** "1.2", or "1.2 (0.3 estimated)" when part of the fees was valued at an estimate (fee-valuation.ts). */
function formatFees(p: Pick<PnlPeriod, 'fees' | 'feesEstimated'>): string {
  return p.feesEstimated === undefined
    ? formatAmount(p.fees)
    : `${formatAmount(p.fees)} (${formatAmount(p.feesEstimated)} estimated)`;
}

function periodLine(label: string, p: PnlPeriod): string {
  const trades = p.trades === 0 ? 'no closed trade' : `${plural(p.trades, 'trade')}, ${p.wins} won`;
  return `${label.padEnd(8)}${formatSigned(p.realized).padStart(12)}  ${trades} · fees ${formatFees(p)}`;
}

function shortDate(ts: number): string {
  return new Date(ts).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * A past day's summary, sent late (telegram down or trading unreachable from the hour until after midnight): that day's realized
 * PnL, closed trades and fees (equity and positions are now, not then: /pnl has them).
 */
export function formatDaySummary(day: PnlPeriod & { day: string }, quote: string, m: Markup): string {
  return [
    `🗓 ${m.b(`Daily summary ${day.day}`)} (sent late)`,
    m.b(`📐 PnL (${quote}, realized; fees included)`),
    m.pre([periodLine('the day', day)]),
  ].join('\n');
}

/** Which equity the risk limits judge, when it is the bot's own (trading.risk.capital), not the account's. */
function riskEquityText(r: RiskEquityView, q: string): string {
  return `risk limits judge the bot's equity ${formatAmount(r.equity)} ${q} (capital ${formatAmount(r.capital)} + its PnL), not the account's`;
}

/** The results report: realized PnL by period, win rate, fees, best/worst trade, drawdown, by symbol. */
export function formatReport(r: PnlReport, m: Markup): string {
  const q = r.quoteCurrency;
  const all = r.periods.all;
  const lines = [
    m.b(`📐 PnL (${q}, realized; fees included)`),
    m.pre([
      periodLine('today', r.periods.today),
      periodLine('7 days', r.periods.days7),
      periodLine('30 days', r.periods.days30),
      periodLine('all', all),
    ]),
    `win rate ${r.winRate === null ? '—' : `${Math.round(r.winRate * 100)}%`} · max drawdown ${m.esc(formatAmount(r.maxDrawdown.amount))}${r.maxDrawdown.pct !== null ? ` (${r.maxDrawdown.pct.toFixed(1)}%)` : ''}`,
  ];
  if (r.best && r.worst) {
    lines.push(
      `best ${m.esc(`${r.best.symbol} ${formatSigned(r.best.pnl)} (${shortDate(r.best.closedAt)})`)} · ` +
        `worst ${m.esc(`${r.worst.symbol} ${formatSigned(r.worst.pnl)} (${shortDate(r.worst.closedAt)})`)}`,
    );
  }
  lines.push(
    `unrealized ${m.esc(formatSigned(r.unrealized))} on ${plural(r.openPositions, 'open position')} · equity ${m.esc(`${formatAmount(r.equity)} ${q}`)}`,
    ...(r.riskEquity ? [m.esc(riskEquityText(r.riskEquity, q))] : []),
  );
  if (r.bySymbol.length > 0) {
    lines.push(
      m.b('by symbol'),
      m.pre(
        r.bySymbol.map(
          (s) =>
            `${s.symbol.padEnd(10)}${formatSigned(s.realized).padStart(12)}  ${plural(s.trades, 'trade')}, ${s.wins} won · fees ${formatFees(s)}`,
        ),
      ),
    );
  }
  return lines.join('\n');
}
