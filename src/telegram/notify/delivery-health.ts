/**
 * The state of the telegram service's link to the Bot API, as every Bot API user in it reports it (the alert
 * sender, the bot's getMe and its update poller). A Telegram-side problem never stops the service: while the token
 * is refused (401) or the alert chat refuses the bot (403, "chat not found") alerts are delivered to the log
 * (`alerts: 'log'`); a conflict (409: another process polls with the token, or a webhook is set) only stops commands; an unreachable
 * Bot API only delays alerts (they wait in the durable outbox). Every user keeps retrying with backoff, and the
 * first success restores delivery to the chat.
 *
 * `nextDelivery` is the pure transition; `DeliveryHealth` holds the state, logs each change once and hands it to
 * `onChange` (the service persists it for `byninja status`).
 */
import type { Clock } from '../../shared/clock';
import type { Logger } from '../../shared/logging/logger';
import type { TelegramDelivery, TelegramProblemKind } from '../../ops/telegram-delivery';

export type DeliveryState = Omit<TelegramDelivery, 'pid'>;

export type DeliveryOutcome =
  /** A Bot API call for the alert chat went through (sendMessage). */
  | { kind: 'sent' }
  /** The token works (getMe, or getUpdates answered). */
  | { kind: 'token-ok'; polled: boolean }
  | { kind: Exclude<TelegramProblemKind, never>; detail: string };

/** A worse problem is not hidden by a lesser one reported meanwhile. */
const SEVERITY: Record<TelegramProblemKind, number> = {
  unauthorized: 4,
  'chat-refused': 3,
  conflict: 2,
  unreachable: 1,
};

export function nextDelivery(state: DeliveryState, outcome: DeliveryOutcome, now: number): DeliveryState {
  const base: DeliveryState = {
    alerts: state.logOnlyReason ? 'log' : 'telegram',
    ...(state.logOnlyReason ? { logOnlyReason: state.logOnlyReason } : {}),
    // the chats Telegram moved are not a delivery outcome: they stay until ChatMoves says otherwise
    ...(state.movedChats?.length ? { movedChats: state.movedChats } : {}),
  };
  const current = state.problem;
  switch (outcome.kind) {
    case 'sent':
      // the chat takes messages again; a conflict (polling) is not settled by sending
      return current?.kind === 'conflict' ? { ...base, problem: current } : base;
    case 'token-ok': {
      // the token works: a 401 is over, and so is a conflict when a poll went through; the chat is not proven
      const keep =
        current &&
        current.kind !== 'unauthorized' &&
        current.kind !== 'unreachable' &&
        !(outcome.polled && current.kind === 'conflict');
      if (!keep) return base;
      return { ...base, alerts: current.kind === 'chat-refused' ? 'log' : base.alerts, problem: current };
    }
    default: {
      const kind = outcome.kind;
      if (current && SEVERITY[current.kind] > SEVERITY[kind]) return state;
      const since = current?.kind === kind ? current.since : now;
      const logOnly = kind === 'unauthorized' || kind === 'chat-refused';
      return {
        ...base,
        alerts: logOnly ? 'log' : base.alerts,
        problem: { kind, since, detail: outcome.detail },
      };
    }
  }
}

const CHANGE_TEXT: Record<TelegramProblemKind, string> = {
  unauthorized:
    'Telegram rejects the bot token (401): alerts go to this log only; the Bot API is retried with backoff. ' +
    'Fix TELEGRAM_BOT_TOKEN in .env, then `npx byninja restart telegram`',
  'chat-refused':
    'Telegram refuses the alert chat: alerts go to this log only until it takes them again. ' +
    'Check TELEGRAM_CHAT_ID, and that the bot is a member of that chat and may post there (not muted; an admin ' +
    'allowed to post in a channel)',
  conflict:
    'Telegram refuses polling with this bot token (409 Conflict): commands do not reach this bot (alerts still go out). ' +
    "Telegram's words say why: another bot instance polls with the token (stop it), or a webhook is set on it " +
    '(the bot deletes it; set again and again, another deployment of the bot still runs: stop it)',
  unreachable: 'Telegram Bot API unreachable: alerts wait in the outbox and are retried with backoff',
};

export interface DeliveryHealthOptions {
  /** Alerts go to the log by configuration (no token, no chat id). */
  logOnlyReason?: DeliveryState['logOnlyReason'];
  logger: Logger;
  clock: Clock;
  /** Called with every new state (the service writes it for `byninja status`). */
  onChange?: (state: DeliveryState) => void;
}

export class DeliveryHealth {
  private current: DeliveryState;
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(private readonly opts: DeliveryHealthOptions) {
    this.logger = opts.logger.child({ module: 'telegram-health' });
    this.clock = opts.clock;
    this.current = {
      alerts: opts.logOnlyReason ? 'log' : 'telegram',
      ...(opts.logOnlyReason ? { logOnlyReason: opts.logOnlyReason } : {}),
    };
    this.record(this.current);
  }

  get state(): DeliveryState {
    return this.current;
  }

  /** The groups Telegram moved that are followed (ChatMoves): shown by /status and `byninja status`. */
  setMovedChats(moved: NonNullable<DeliveryState['movedChats']>): void {
    const { movedChats: _old, ...rest } = this.current;
    this.current = moved.length ? { ...rest, movedChats: moved } : rest;
    this.record(this.current);
  }

  report(outcome: DeliveryOutcome): void {
    const before = this.current;
    const next = nextDelivery(before, outcome, this.clock.now());
    if (sameState(before, next)) {
      if (next !== before) this.current = next; // the detail may have changed; not worth a log line
      return;
    }
    this.current = next;
    if (next.problem && next.problem.kind !== before.problem?.kind) {
      const line = `⚠️ ${CHANGE_TEXT[next.problem.kind]} (${next.problem.detail})`;
      if (next.problem.kind === 'unreachable') this.logger.warn(line);
      else this.logger.error(line);
    } else if (!next.problem && before.problem) {
      this.logger.info(`✅ Telegram works again (after: ${before.problem.kind}); alerts go to the chat`);
    }
    this.record(next);
  }

  private record(state: DeliveryState): void {
    try {
      this.opts.onChange?.(state);
    } catch (err) {
      this.logger.warn(`could not record the Telegram delivery state: ${String(err)}`);
    }
  }
}

function sameState(a: DeliveryState, b: DeliveryState): boolean {
  return (
    a.alerts === b.alerts && a.problem?.kind === b.problem?.kind && a.problem?.since === b.problem?.since
  );
}
