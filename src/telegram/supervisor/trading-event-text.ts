/**
 * Trading events (the TCP event stream) → notifications, per `telegram.notifications` (on / silent / off).
 * Pure. Every event notification carries its `seq`, so a replay after a reconnect is recognised by the outbox.
 */
import { formatSpan } from '../../shared/format-span';
import type { Config, NotifyLevel } from '../../shared/config/schema';
import type { RecoverySummary, TradingEvent, TradingEventType } from '../../shared/ipc/protocol';
import { escapeHtml, type NotificationInput, type Priority } from '../notify/notification';

type NotificationSettings = Config['telegram']['notifications'];

/** Which setting governs each event type. Pause/resume follow riskTriggered: most pauses are the kill switch's. */
export const EVENT_SETTING: Record<TradingEventType, keyof NotificationSettings> = {
  'order.placed': 'orderPlaced',
  'order.filled': 'orderFilled',
  'order.partially_filled': 'orderFilled',
  'order.cancelled': 'orderCancelled',
  'order.rejected': 'orderRejected',
  'order.conflict': 'orderRejected',
  // a position nobody decided appears: a risk alert, not muted with the rejections
  'order.taken_back': 'riskTriggered',
  // an order ended without the exchange saying how (settled from its fills): a risk alert too
  'order.settled_absent': 'riskTriggered',
  // fills booked from the order's answer (its fee perhaps estimated): a risk alert like the settled-absent one
  'order.fills_from_answer': 'riskTriggered',
  // an order ended by inference that the balance says was carried out: its symbol held, a risk alert
  'order.in_doubt': 'riskTriggered',
  'order.operator_settled': 'riskTriggered',
  // the account's own order stands in the way of the bot's (a stop-loss among them): the operator must act
  'order.self_trade': 'riskTriggered',
  'position.opened': 'positionOpened',
  'position.closed': 'positionClosed',
  // part of a position is gone from the account: a risk alert, whatever the position settings
  'position.shortfall': 'riskTriggered',
  // coins the bot holds and can no longer sell (a raised minimum, a delisting): the operator must act
  'position.unsellable': 'riskTriggered',
  'position.written_off': 'riskTriggered',
  'risk.triggered': 'riskTriggered',
  'exchange.unreachable': 'exchangeStatus',
  'exchange.key_refused': 'exchangeStatus',
  'exchange.recovered': 'exchangeStatus',
  'persist.failed': 'persistFailure',
  'trading.paused': 'riskTriggered',
  'trading.resumed': 'riskTriggered',
  'market.halted': 'exchangeStatus',
  'market.resumed': 'exchangeStatus',
  // the exchange serves old prices: entries wait, the operator should look
  'market.stale': 'exchangeStatus',
  'market.fresh': 'exchangeStatus',
  // a stop-loss that cannot go out: a risk alert
  'exit.held': 'riskTriggered',
  // entries a stop-loss could not get out of are not made: the operator raises the stake
  'entry.stake_too_small': 'riskTriggered',
  // every signed request refused until corrected: the host's clock (NTP) needs the operator
  'clock.skew': 'exchangeStatus',
  // the key stops trading at its end, or cannot trade: the operator must act
  'api_key.limits': 'exchangeStatus',
  recovery: 'recovery',
};

const STYLE: Record<TradingEventType, { icon: string; title: string; priority: Priority }> = {
  'order.placed': { icon: '📝', title: 'Order placed', priority: 'low' },
  'order.filled': { icon: '✅', title: 'Order filled', priority: 'normal' },
  'order.partially_filled': { icon: '◐', title: 'Order partially filled', priority: 'normal' },
  'order.cancelled': { icon: '✖️', title: 'Order cancelled', priority: 'low' },
  'order.rejected': { icon: '⛔', title: 'Order rejected', priority: 'high' },
  'order.conflict': { icon: '⚠️', title: 'Exchange contradicts a finished order', priority: 'high' },
  'order.taken_back': {
    icon: '↩️',
    title: 'Order recorded as ended exists after all: taken back',
    priority: 'high',
  },
  'order.settled_absent': {
    icon: '🔎',
    title: 'Order no longer on the exchange: settled from its fills',
    priority: 'high',
  },
  'order.fills_from_answer': {
    icon: '🧮',
    title: "Order's fills not readable: booked from its answer",
    priority: 'high',
  },
  'order.in_doubt': {
    icon: '⚠️',
    title: 'Order in doubt: its symbol held until it is found or settled (/settle)',
    priority: 'high',
  },
  'order.operator_settled': {
    icon: '🧾',
    title: 'Order settled by the operator: symbol no longer held',
    priority: 'normal',
  },
  'order.self_trade': {
    icon: '🪞',
    title: "Order ended by self-trade prevention (the account's own order)",
    priority: 'high',
  },
  'position.opened': { icon: '📈', title: 'Position opened', priority: 'normal' },
  'position.closed': { icon: '📉', title: 'Position closed', priority: 'normal' },
  'position.shortfall': { icon: '🕳', title: 'Account holds less than the position', priority: 'high' },
  'position.unsellable': { icon: '🧱', title: 'Position the bot can no longer sell', priority: 'high' },
  'position.written_off': { icon: '🧾', title: 'Position written off by the operator', priority: 'normal' },
  'risk.triggered': { icon: '🚨', title: 'Risk limit triggered', priority: 'high' },
  'exchange.unreachable': { icon: '📡', title: 'Exchange unreachable', priority: 'high' },
  // the API key, or (data.account) the account, its region or the symbol: the summary says which
  'exchange.key_refused': {
    icon: '🔑',
    title: 'Exchange refuses the API key or the account',
    priority: 'high',
  },
  'exchange.recovered': { icon: '📡', title: 'Exchange reachable again', priority: 'normal' },
  'persist.failed': { icon: '💾', title: 'State could not be saved — no new orders', priority: 'critical' },
  'trading.paused': { icon: '⏸', title: 'Trading paused', priority: 'high' },
  'trading.resumed': { icon: '▶️', title: 'Trading resumed', priority: 'normal' },
  'market.halted': { icon: '🚧', title: 'Market halted', priority: 'high' },
  'market.resumed': { icon: '🟢', title: 'Market trading again', priority: 'normal' },
  'market.stale': { icon: '🧊', title: 'Stale prices: no entries', priority: 'high' },
  'market.fresh': { icon: '🟢', title: 'Prices fresh again', priority: 'normal' },
  'exit.held': { icon: '🚧', title: 'Stop-loss held by a halt', priority: 'high' },
  'entry.stake_too_small': {
    icon: '🪙',
    title: 'Stake too small for a stop-loss: no entry',
    priority: 'high',
  },
  'clock.skew': { icon: '🕒', title: 'Host clock off the exchange', priority: 'high' },
  'api_key.limits': { icon: '🔑', title: 'API key', priority: 'high' },
  recovery: { icon: '🔁', title: 'Trading recovered its state', priority: 'normal' },
};

export function levelOf(type: TradingEventType, settings: NotificationSettings): NotifyLevel {
  // a type this build does not know (a newer trading's) has no setting to mute it: on
  return Object.hasOwn(EVENT_SETTING, type) ? settings[EVENT_SETTING[type]] : 'on';
}

/** The notification for an event, or undefined when its type is off. */
export function eventNotification(
  ev: TradingEvent,
  settings: NotificationSettings,
): NotificationInput | undefined {
  // a type this build does not know: a newer trading's (telegram is restarted first in an upgrade, last back in a
  // rollback). Sent under the type itself, high: the types added lately are nearly all the operator's to act on,
  // and a normal one is evicted first when the outbox is full
  const style = Object.hasOwn(STYLE, ev.type)
    ? STYLE[ev.type]
    : { icon: 'ℹ️', title: escapeHtml(ev.type), priority: 'high' as Priority };
  const level = levelOf(ev.type, settings);
  if (level === 'off') return undefined;
  // the same refusal again on the same symbol (during its cooldown backoff): in the log, not another message
  if (ev.type === 'order.rejected' && ev.data.repeated === true) return undefined;
  const body =
    ev.type === 'recovery'
      ? recoveryText(ev.data as unknown as RecoverySummary)
      : escapeHtml(withoutTitle(ev.summary, style.title));
  // the PnL in bold, unless the summary already says it (trading's summaries do: "…, PnL -1.07")
  const pnl = ev.type === 'position.closed' && !/\bPnL\b/.test(ev.summary) ? pnlLine(ev.data) : '';
  return {
    key: `event:${ev.seq}`,
    priority: style.priority,
    silent: level === 'silent',
    eventSeq: ev.seq,
    createdAt: ev.ts,
    text: `${style.icon} <b>${style.title}</b>\n${body}${pnl}`,
  };
}

/**
 * The summary without a leading "<title>: " (trading writes "Order filled: buy …" and the title above it already
 * says "Order filled"), so no message says the same thing twice.
 */
export function withoutTitle(summary: string, title: string): string {
  const prefix = `${title}: `;
  return summary.toLowerCase().startsWith(prefix.toLowerCase()) ? summary.slice(prefix.length) : summary;
}

function pnlLine(data: Record<string, unknown>): string {
  const pnl =
    typeof data.realizedPnl === 'number'
      ? data.realizedPnl
      : typeof data.pnl === 'number'
        ? data.pnl
        : undefined;
  if (pnl === undefined) return '';
  return `\nPnL: <b>${pnl >= 0 ? '+' : ''}${pnl.toFixed(2)}</b>`;
}

/** trading's recovery summary in a few lines (HTML). Tolerates missing fields: it comes from another process. */
export function recoveryText(r: Partial<RecoverySummary> | undefined): string {
  if (!r || typeof r !== 'object') return 'recovery finished';
  const parts: string[] = [];
  if (r.lastExit)
    parts.push(
      `last run: ${escapeHtml(r.lastExit.kind)}${r.lastExit.reason ? ` (${escapeHtml(r.lastExit.reason)})` : ''}`,
    );
  // open orders, not every order state keeps (recent finished ones too): "restored 10 orders" with none open misled
  const open = r.openOrders ?? r.restoredOrders ?? 0;
  parts.push(`restored ${count(open, 'open order')}, ${count(r.restoredPositions ?? 0, 'open position')}`);
  const changed = r.changedWhileDown ?? [];
  if (changed.length) {
    parts.push(
      `changed while down: ${changed
        .slice(0, 5)
        .map((c) => `${escapeHtml(c.clientOrderId)} ${escapeHtml(c.from)}→${escapeHtml(c.to)}`)
        .join(', ')}${changed.length > 5 ? ` +${changed.length - 5}` : ''}`,
    );
  }
  const resolved = r.resolvedUnknown ?? [];
  if (resolved.length) {
    const found = resolved.filter((x) => x.found).length;
    parts.push(`unknown orders resolved: ${resolved.length} (${found} found on the exchange)`);
  }
  if (r.adopted?.length) parts.push(`adopted: ${r.adopted.map(escapeHtml).join(', ')}`);
  if (r.cancelledUnknown?.length)
    parts.push(`cancelled unknown: ${r.cancelledUnknown.map(escapeHtml).join(', ')}`);
  if (r.newFills) parts.push(`new fills: ${r.newFills}`);
  if (typeof r.durationMs === 'number') parts.push(`took ${formatSpan(r.durationMs)}`);
  return parts.join('\n');
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
