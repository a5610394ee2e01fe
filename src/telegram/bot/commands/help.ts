import type { BotCommand } from '../command';
import { escapeHtml } from '../format';

/** /help: every command with its arguments. Built from the registry, so it cannot go out of date. */
export function helpCommand(all: () => readonly BotCommand[]): BotCommand {
  return {
    name: 'help',
    description: 'this list',
    usage: '',
    async run(ctx) {
      const lines = all().map(
        (c) => `/${c.name}${c.usage ? ' ' + escapeHtml(c.usage) : ''} — ${escapeHtml(c.description)}`,
      );
      await ctx.reply(['<b>ByNinja commands</b>', ...lines].join('\n'));
    },
  };
}
