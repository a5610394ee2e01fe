import { askTrading, type BotCommand } from '../command';

/** /resume: trading opens positions again (refused by trading while a kill switch holds). */
export const resumeCommand: BotCommand = {
  name: 'resume',
  dangerous: true,
  description: 'resume opening positions',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/resume</code> (no arguments)');
    const result = await askTrading(ctx, (t) => t.call('resume', {}));
    if (result) await ctx.reply(result.paused ? '⏸ Trading is still paused.' : '▶️ Trading resumed.');
  },
};
