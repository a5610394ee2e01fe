import { formatSpan } from '../../../shared/format-span';
import type { BotCommand } from '../command';
import { escapeHtml } from '../format';

/** /version: versions of the telegram daemon, Node and (when reachable) trading. */
export const versionCommand: BotCommand = {
  name: 'version',
  description: 'versions',
  usage: '',
  async run(ctx) {
    const s = ctx.services;
    let trading = 'unreachable';
    if (s.trading.connected) {
      try {
        const st = await s.trading.call('status', {});
        trading = `v${st.version}, ${st.mode}, pid ${st.pid}`;
      } catch {
        // keep "unreachable": /version must answer even when trading does not
      }
    }
    await ctx.reply(
      [
        `<b>ByNinja</b> v${escapeHtml(s.version)}`,
        `telegram: pid ${process.pid}, up ${formatSpan(process.uptime() * 1000)}, Node ${escapeHtml(process.version)}`,
        `trading: ${escapeHtml(trading)}`,
      ].join('\n'),
    );
  },
};
