import { askTrading, confirmButtons, type BotCommand } from '../command';
import { escapeHtml, formatDuration } from '../format';

/**
 * /closeall: asks for confirmation, then trading pauses entries, cancels its open orders and closes every open
 * position at market (see CloseAllResult).
 */
export const closeAllCommand: BotCommand = {
  name: 'closeall',
  dangerous: true,
  description: 'close all positions (asks to confirm)',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/closeall</code> (no arguments)');
    const ttlMs = ctx.services.config.telegram.confirmTimeoutSec * 1000;
    const pending = ctx.services.confirmations.create(ctx.chatId, ctx.userId, { kind: 'closeall' }, ctx.now);
    await ctx.reply(
      `⚠️ Close <b>all</b> positions at market? This button expires in ${formatDuration(ttlMs)}.`,
      confirmButtons(pending.nonce, '✅ Close all'),
    );
  },
  async confirmed(action, ctx) {
    if (action.kind !== 'closeall') return;
    const result = await askTrading(ctx, (t) => t.call('closeAll', {}));
    if (!result) return;
    const lines: string[] = [];
    if (result.cancelled.length > 0) {
      lines.push(
        `❎ Cancelled ${plural(result.cancelled.length, 'open order')}: ` +
          result.cancelled.map((id) => `<code>${escapeHtml(id)}</code>`).join(', '),
      );
    }
    lines.push(
      result.orders.length === 0
        ? 'No position to close.'
        : `🧹 Close-all sent: ${plural(result.orders.length, 'market sell')}\n` +
            result.orders.map((id) => `<code>${escapeHtml(id)}</code>`).join('\n'),
    );
    for (const { symbol, reason } of result.skipped) {
      lines.push(
        `⚠️ ${escapeHtml(symbol)} not closed: ${escapeHtml(reason)} — try /closeall again once it settles`,
      );
    }
    if (result.paused)
      lines.push('⏸ Entries paused so the strategy does not reopen them; /resume to trade again.');
    await ctx.reply(lines.join('\n'));
  },
};

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
