import { errorMessage } from '../../../shared/errors';
import { restartServices } from '../../../ops/restart';
import { expandServiceTarget } from '../../../ops/services';
import { askToConfirm, usageText, type BotCommand } from '../command';
import { escapeHtml, formatRestartOutcomes, htmlMarkup } from '../format';

/**
 * /restart <trading|telegram|all>: asks for confirmation, then restarts through PM2. Restarting telegram itself
 * ends this process before PM2 can answer, so the request is persisted first and the next boot confirms it.
 */
export const restartCommand: BotCommand = {
  name: 'restart',
  dangerous: true,
  description: 'restart a service through PM2 (asks to confirm)',
  usage: '<trading|telegram|all>',
  async run(ctx) {
    const targets =
      ctx.args.length === 1 ? expandServiceTarget(ctx.args[0]!.toLowerCase(), ctx.services.self) : undefined;
    if (!targets) return ctx.reply(usageText(restartCommand));
    await askToConfirm(
      ctx,
      { kind: 'restart', targets },
      `🔄 Restart <b>${escapeHtml(targets.join(' + '))}</b>?`,
      `✅ Restart ${targets.join(' + ')}`,
    );
  },
  async confirmed(action, ctx) {
    if (action.kind !== 'restart') return;
    const s = ctx.services;
    const others = action.targets.filter((t) => t !== s.self);
    const restartsSelf = action.targets.includes(s.self);
    if (others.length > 0) {
      await ctx.reply(`🔄 Restarting ${escapeHtml(others.join(', '))}…`);
      // PM2 not answering within its deadline (Pm2Client actionTimeoutMs) is said at once, its late answer after it
      let told: Promise<unknown> = Promise.resolve();
      const outcomes = await restartServices(others, {
        pm2: s.pm2,
        onLate: (outcome) =>
          void told
            .catch(() => undefined)
            .then(() =>
              ctx.reply(
                `Late answer from PM2: ${formatRestartOutcomes([outcome], htmlMarkup, { status: '/status' })}`,
              ),
            )
            .catch((err: unknown) =>
              s.logger.error('Late restart outcome not sent', { error: errorMessage(err) }),
            ),
      });
      // PM2's late answer is awaited in this process only: a restart of telegram before it comes loses it (say so)
      told = ctx.reply(
        formatRestartOutcomes(outcomes, htmlMarkup, {
          status: '/status',
          late: 'its outcome follows here, unless telegram restarts first',
        }),
      );
      await told;
    }
    if (restartsSelf) {
      // Said before PM2 is asked: after it, this process may be gone before a reply could leave.
      await ctx.reply(`🔄 Restarting ${escapeHtml(s.self)} — I will confirm here when I am back.`);
      // Not awaited: PM2 restarts this very process, so the handler must not hold shutdown (which waits for
      // running handlers) while PM2 waits for that shutdown. The marker is written before PM2 is asked.
      void restartServices([s.self], {
        pm2: s.pm2,
        self: s.self,
        ...(s.beforeSelfRestart
          ? {
              beforeSelfRestart: () =>
                s.beforeSelfRestart!({ chatId: ctx.chatId, requestedAt: s.clock.now() }),
            }
          : {}),
      })
        // Only reached when PM2 did not replace this process (e.g. not run under PM2, or the marker failed).
        .then((outcomes) => ctx.reply(formatRestartOutcomes(outcomes, htmlMarkup, { status: '/status' })))
        .catch(() => undefined);
    }
  },
};
