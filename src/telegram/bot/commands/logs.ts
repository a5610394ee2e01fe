import { tailServiceLogs } from '../../../ops/log-tail';
import { isServiceName } from '../../../ops/services';
import { usageText, type BotCommand } from '../command';
import { formatLogTail, htmlMarkup } from '../format';

/** Most lines per file in a chat (the CLI allows more): 3 files × 100 lines is already several messages. */
export const MAX_CHAT_LOG_LINES = 100;
const DEFAULT_LINES = 20;

/** /logs <service> [lines]: last lines of PM2's out/err files and the JSON log, secrets redacted. */
export const logsCommand: BotCommand = {
  name: 'logs',
  description: `last log lines of a service (default ${DEFAULT_LINES}, max ${MAX_CHAT_LOG_LINES})`,
  usage: '<trading|telegram> [lines]',
  async run(ctx) {
    const [service, linesArg, ...rest] = ctx.args;
    const lines = linesArg === undefined ? DEFAULT_LINES : Number(linesArg);
    const valid =
      service !== undefined &&
      isServiceName(service) &&
      rest.length === 0 &&
      Number.isInteger(lines) &&
      lines >= 1 &&
      lines <= MAX_CHAT_LOG_LINES;
    if (!valid) return ctx.reply(usageText(logsCommand));
    const s = ctx.services;
    const proc = await s.pm2.list().then(
      (list) => list.find((p) => p.name === service),
      () => undefined,
    );
    const tail = await tailServiceLogs({
      service,
      lines,
      logDir: s.logDir,
      redactor: s.redactor,
      ...(proc ? { pm2: proc } : {}),
    });
    await ctx.reply(formatLogTail(tail, htmlMarkup));
  },
};
