/**
 * Entries paused and resumed (the operator's /pause and /resume, the kill switch, an operational error, an order
 * the exchange no longer shows): a pause holds every cause that joined it and lifts by itself only once none holds
 * (pause-causes.ts decides; this is its shell: the commit, the log line and the `trading.paused` /
 * `trading.resumed` events). "Paused" stops entries only: exits keep running so risk can shrink.
 */
import type { Clock } from '../../../shared/clock';
import { errorMessage } from '../../../shared/errors';
import type { Logger } from '../../../shared/logging/logger';
import type { EventOutbox } from '../state/event-outbox';
import { isFinal } from '../orders/order-state';
import { HIDDEN_STATE_CODE } from '../start/hidden-state';
import { causesOf, hasCode, pauseLeft, pauseSummary, withCause, type PauseFacts } from './pause-causes';
import { resetAfterResume } from '../decide/risk';
import type { StateGateway } from '../state/state-gateway';
import type { PauseCause, PauseSource, PauseState } from '../state/trading-state';

export interface EntryPauseOptions {
  /** The pause and risk state (state-gateway.ts), and the orders a settled-order pause names. */
  state: StateGateway;
  outbox: EventOutbox;
  clock: Clock;
  /** The exchange's clock: the risk day a resume starts anew on is the exchange's. */
  exchangeClock: Clock;
  logger: Logger;
  /** The equity peak a resume starts the drawdown from (AccountWatch.peakSafeEquity). */
  peakSafeEquity: () => number;
}

export class EntryPause {
  constructor(private readonly opts: EntryPauseOptions) {}

  /**
   * Entries paused and why, as /status says it: operator/risk/operational (persisted) or a state that cannot be
   * saved (`at`: the last tick's time, 0 before any). The placement gate needs no persist pause: its first rule
   * refuses every order then (OrderManager.placementRefusal).
   */
  current(lastTickAt: number | null): PauseState | null {
    const stored = this.opts.state.pause;
    if (stored) return stored;
    const persist = this.opts.state.persistBlocked;
    return persist
      ? { by: 'persist', reason: `state cannot be saved: ${persist}`, at: lastTickAt ?? 0 }
      : null;
  }

  /**
   * Pauses entries, or adds the cause to the pause already there (pause-causes.ts): it lifts by itself only once no
   * cause holds. `takeOver`: the operator's cause goes first (close-all), so /status says the operator paused. A
   * cause already there adds nothing (an error repeated every tick); one that joins is told (`trading.paused`).
   */
  async pause(
    reason: string,
    by: PauseSource,
    takeOver = false,
    clientOrderId?: string,
  ): Promise<PauseState> {
    const cause = { reason, by, at: this.opts.clock.now(), ...(clientOrderId ? { clientOrderId } : {}) };
    return this.pauseFor(cause, takeOver);
  }

  /** `pause`, for a cause built by its owner (one with a `code`: hidden-state.ts). */
  async pauseFor(cause: PauseCause, takeOver = false): Promise<PauseState> {
    const { reason, by } = cause;
    const current = this.opts.state.pause;
    const pause = withCause(current, cause, takeOver);
    if (!pause) return current!;
    const causes = causesOf(pause).length;
    this.opts.logger.warn('Entries paused', { reason, by, ...(causes > 1 ? { causes } : {}) });
    // the alert is committed with the pause (transactional outbox): a crash before it reached the event log sends
    // it at the next start — which finds the cause already there and would not tell it again
    await this.opts.state.commitWithEvents(
      (d) => {
        d.pause = pause;
      },
      [
        {
          type: 'trading.paused',
          summary: `Trading paused (${by}): ${reason}`,
          data: { reason, by, ...(causes > 1 ? { causes } : {}) },
        },
      ],
    );
    return pause;
  }

  /**
   * The operator's resume lifts the pause whatever its causes. Any other source (risk, operational) only drops the
   * causes that no longer hold: the pause lifts once none does (pause-causes.ts `pauseLeft`), never an operator's.
   */
  async resume(by: PauseSource): Promise<void> {
    const was = this.opts.state.pause;
    if (was && by !== 'operator') {
      const left = pauseLeft(was, this.pauseFacts(), this.opts.clock.now());
      if (left) {
        if (JSON.stringify(left) !== JSON.stringify(was)) {
          await this.opts.state.setPause(left);
          this.opts.logger.info('Entries still paused', {
            by,
            was: pauseSummary(was),
            now: pauseSummary(left),
          });
        }
        return;
      }
    }
    // only the operator's resume ends a kill switch (resetAfterResume); a pause lifting by itself leaves the risk
    // state as it is — its kill switch is already clear, and its peak is no pause's to reset
    const risk =
      by === 'operator'
        ? resetAfterResume(this.opts.state.risk, this.opts.peakSafeEquity(), this.opts.exchangeClock.now())
        : undefined;
    // the operator's resume of a hidden-state pause confirms this new state as a fresh install: its next starts do
    // not pause again for the other install's orders
    const confirmsNew = by === 'operator' && was !== null && hasCode(was, HIDDEN_STATE_CODE);
    await this.opts.state.setPause(null, risk, confirmsNew ? this.opts.clock.now() : undefined);
    if (was) {
      const reason = pauseSummary(was);
      this.opts.logger.info('Entries resumed', { by, was: reason });
      await this.opts.outbox.emit('trading.resumed', `Trading resumed (${by}); was paused: ${reason}`, {
        by,
        was: reason,
      });
    }
  }

  /**
   * A pause waiting on orders the exchange no longer showed and that could not be settled then drops each such cause
   * once its order is settled (final), and lifts once no cause holds (`resume`), as a risk pause lifts once its
   * limit clears (account-watch.ts). Run once a tick, after the symbols' work.
   */
  async liftSettledOrderPause(): Promise<void> {
    const pause = this.opts.state.pause;
    if (!pause || !causesOf(pause).some((c) => c.clientOrderId !== undefined)) return;
    try {
      await this.resume('operational');
    } catch (err) {
      this.opts.logger.error('Could not persist the resume', { error: errorMessage(err) });
    }
  }

  private pauseFacts(): PauseFacts {
    return {
      orderSettled: (id) => {
        const order = this.opts.state.data.orders[id];
        return !order || isFinal(order.status);
      },
      killSwitch: this.opts.state.risk.killSwitch,
    };
  }
}
