import { askTrading, askToConfirm, type BotCommand } from '../command';
import { escapeHtml } from '../format';

/** What trading's status calls a pause without a reason. */
const NO_REASON = 'no reason given';

/**
 * /resume: trading opens positions again. The operator's resume lifts every cause of a pause — a kill switch, a
 * "state missing or hidden" pause (it then confirms the new install) — so it asks to confirm first, naming the pause
 * it lifts: a tap on /resume in the command menu, next to /pause, must not lift a kill switch by itself. A pause whose
 * cause changed between the question and the press (a kill switch fired meanwhile) is not lifted: asked again.
 */
export const resumeCommand: BotCommand = {
  name: 'resume',
  dangerous: true,
  description: 'resume opening positions (asks to confirm)',
  usage: '',
  async run(ctx) {
    if (ctx.args.length > 0) return ctx.reply('Usage: <code>/resume</code> (no arguments)');
    const status = await askTrading(ctx, (t) => t.call('status', {}));
    if (!status) return;
    if (!status.paused) return ctx.reply('▶️ Trading is not paused: nothing to resume.');
    const pausedReason = status.pausedReason ?? NO_REASON;
    await askToConfirm(
      ctx,
      { kind: 'resume', pausedReason },
      `▶️ Resume opening positions? Paused: <b>${escapeHtml(pausedReason)}</b>. A resume lifts every cause of ` +
        'the pause, a kill switch included.',
      '✅ Resume',
    );
  },
  async confirmed(action, ctx) {
    if (action.kind !== 'resume') return;
    const status = await askTrading(ctx, (t) => t.call('status', {}));
    if (!status) return;
    if (!status.paused) return ctx.reply('▶️ Trading is not paused any more: nothing to resume.');
    const now = status.pausedReason ?? NO_REASON;
    if (now !== action.pausedReason) {
      return ctx.reply(
        `⏸ Not resumed: the pause changed since you were asked — now <b>${escapeHtml(now)}</b>. ` +
          'Send /resume again if you still want it.',
      );
    }
    const result = await askTrading(ctx, (t) => t.call('resume', {}));
    if (result)
      await ctx.reply(
        result.paused
          ? '⏸ Trading is still paused.'
          : `▶️ Trading resumed (was paused: ${escapeHtml(action.pausedReason)}).`,
      );
  },
};
