import { errorMessage } from '../../../shared/errors';
import type { PnlReport } from '../../../shared/ipc/protocol';
import { askTrading, type BotCommand } from '../command';
import { escapeHtml, formatReport, htmlMarkup } from '../format';

/**
 * /pnl: the results report (realized PnL today / 7 d / 30 d / all, win rate, fees, best and worst trade, drawdown,
 * by symbol) read by trading from its history journal, then the equity curve as a picture.
 */
export const pnlCommand: BotCommand = {
  name: 'pnl',
  description: 'profit and loss, with the equity curve',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/pnl</code> (no arguments)');
    const show = async (report: PnlReport): Promise<void> => {
      await ctx.reply(formatReport(report, htmlMarkup));
      let png: Buffer;
      try {
        png = await ctx.services.charts.equityPng(report);
      } catch (err) {
        ctx.services.logger.warn('Equity chart not drawn', { error: errorMessage(err) });
        return ctx.reply(`⚠️ The equity chart could not be drawn: ${escapeHtml(errorMessage(err))}`);
      }
      await ctx.replyPhoto(png, `📈 Equity (${escapeHtml(report.quoteCurrency)})`);
    };
    const report = await askTrading(ctx, (t) => t.call('report', {}), show);
    if (report) await show(report);
  },
};
