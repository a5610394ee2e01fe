import { askTrading, type BotCommand } from '../command';
import { escapeHtml } from '../format';

/**
 * /pause [reason]: no new entries (a limit entry still resting is cancelled: symbol-decision.ts); open positions stay
 * managed (stop-loss, take-profit).
 */
export const pauseCommand: BotCommand = {
  name: 'pause',
  dangerous: true,
  description: 'stop opening new positions',
  usage: '[reason]',
  async run(ctx) {
    const reason = ctx.args.join(' ').slice(0, 200) || `paused from Telegram by ${ctx.userId ?? ctx.chatId}`;
    const result = await askTrading(ctx, (t) => t.call('pause', { reason }));
    if (result)
      await ctx.reply(
        `⏸ Trading paused${result.reason ? `: ${escapeHtml(result.reason)}` : ''}. /resume to continue.`,
      );
  },
};
