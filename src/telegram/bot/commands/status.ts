import { buildStatusReport } from '../../../ops/status-report';
import type { BotCommand } from '../command';
import { formatStatus, htmlMarkup } from '../format';

/** /status: every service from PM2, trading's own view (or why it is unreachable), the TCP link, the outbox. */
export const statusCommand: BotCommand = {
  name: 'status',
  description: 'services (PM2), trading state, TCP link, outbox',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply(`Usage: <code>/status</code> (no arguments)`);
    const s = ctx.services;
    const report = await buildStatusReport({
      pm2: s.pm2,
      trading: s.trading,
      dataDir: s.dataDir,
      ...(s.linkState ? { link: s.linkState() } : {}),
      ...(s.notifier ? { outboxDepth: s.notifier.depth() } : {}),
      ...(s.lastExit ? { knownLastExits: { [s.self]: s.lastExit } } : {}),
      ...(s.delivery ? { telegramDelivery: s.delivery() } : {}),
      ...(s.notReady ? { notReady: s.notReady() } : {}),
      now: s.clock.now(),
    });
    await ctx.reply(formatStatus(report, htmlMarkup));
  },
};
