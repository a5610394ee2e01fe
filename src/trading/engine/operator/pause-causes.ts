/**
 * A pause and its causes (pure). A pause holds every cause that joined it, not only the first: it lifts by itself
 * only once none holds any more, so entries never restart while a second cause still stands.
 *
 * A cause holds:
 * - the operator's (a /pause, close-all): until the operator's /resume — never by itself;
 * - an operational error without an order (authentication, insufficient funds…), or a new state the exchange says is
 *   not the first install (hidden-state.ts, `code` state-hidden): the same — only the operator can say it is fixed;
 * - an operational one with an order (an order the exchange no longer shows that could not be settled): until that
 *   order is settled (final, or archived);
 * - the risk kill switch's: while the kill switch is set (account-watch.ts clears it);
 * - state that cannot be saved: never stored (EntryPause.current derives it), held if one ever is.
 *
 * The first cause is the pause's head (`reason`, `by`, `at`, `clientOrderId`: the shape files written before
 * causes joined have, so those load as a pause of one cause); later ones are `joined`. A cause already there (the
 * same source, the same order and the same code) does not join twice, so an error repeated every tick adds nothing.
 */
import type { KillSwitch } from '../decide/risk';
import type { PauseCause, PauseSource, PauseState } from '../state/trading-state';

/** What decides whether a cause still holds. */
export interface PauseFacts {
  /** The order is final, or no longer in the state (archived: it was final). */
  orderSettled: (clientOrderId: string) => boolean;
  killSwitch: KillSwitch | null;
}

/** Causes of /status's pause reason said in full; more are counted ("+N more"). */
export const CAUSES_SAID = 3;

/** Every cause of the pause, the first (its head) first. */
export function causesOf(pause: PauseState): PauseCause[] {
  const { joined, ...head } = pause;
  return [head, ...(joined ?? [])];
}

/** The pause made of `causes` (the first its head), or null when there is none. */
export function pauseOf(causes: readonly PauseCause[]): PauseState | null {
  const [head, ...rest] = causes;
  if (!head) return null;
  return rest.length > 0 ? { ...head, joined: rest } : { ...head };
}

export function hasCause(pause: PauseState | null, by: PauseSource): boolean {
  return pause !== null && causesOf(pause).some((c) => c.by === by);
}

/** Whether a cause of the pause has this code (hidden-state.ts `state-hidden`). */
export function hasCode(pause: PauseState | null, code: string): boolean {
  return pause !== null && causesOf(pause).some((c) => c.code === code);
}

function sameCause(a: PauseCause, b: PauseCause): boolean {
  return a.by === b.by && a.clientOrderId === b.clientOrderId && a.code === b.code;
}

/**
 * The pause with `cause` joined, or null when it has that cause already (nothing changes). `first`: the cause goes
 * first (the operator's close-all takes over the head: /status then says the operator paused).
 */
export function withCause(pause: PauseState | null, cause: PauseCause, first = false): PauseState | null {
  if (!pause) return pauseOf([cause]);
  const causes = causesOf(pause);
  const had = causes.find((c) => sameCause(c, cause));
  if (had && !(first && causes[0] !== had)) return null;
  const rest = causes.filter((c) => !sameCause(c, cause));
  return pauseOf(first ? [cause, ...rest] : [...causes, cause]);
}

export function causeHolds(cause: PauseCause, facts: PauseFacts): boolean {
  switch (cause.by) {
    case 'risk':
      return facts.killSwitch !== null;
    case 'operational':
      return cause.clientOrderId === undefined || !facts.orderSettled(cause.clientOrderId);
    case 'operator':
    case 'persist':
      return true;
  }
}

/**
 * What is left of the pause once the causes that no longer hold are dropped: null (lift it) when none holds. A
 * kill switch set with no cause of its own (a file written before causes joined: the pause was kept over it) holds
 * as the kill switch's cause — lifted when it clears, never by a resume that would reset it.
 */
export function pauseLeft(pause: PauseState, facts: PauseFacts, now: number): PauseState | null {
  const holding = causesOf(pause).filter((c) => causeHolds(c, facts));
  if (facts.killSwitch && !holding.some((c) => c.by === 'risk')) {
    holding.push({ reason: `kill switch: ${facts.killSwitch.reason}`, by: 'risk', at: now });
  }
  return pauseOf(holding);
}

/** The pause's reason for /status and logs: every cause, or the first CAUSES_SAID and "+N more". */
export function pauseSummary(pause: PauseState): string {
  const reasons = causesOf(pause).map((c) => c.reason);
  const said = reasons.slice(0, CAUSES_SAID).join('; ');
  const more = reasons.length - CAUSES_SAID;
  return more > 0 ? `${said}; +${more} more` : said;
}
