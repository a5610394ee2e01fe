/**
 * Turns the IpcClient's `link` changes into at most one alert per change (link-policy.ts): a drop is
 * reported only if it lasts longer than `graceMs` and PM2 does not already explain it (trading crashed,
 * stopped or restarting); the matching "restored" is sent only for a drop that was reported.
 */
import type { EventEmitter } from 'node:events';
import type { CancelTimer, Clock } from '../../shared/clock';
import { errorMessage } from '../../shared/errors';
import type { LinkChange } from '../../shared/ipc/client';
import type { Logger } from '../../shared/logging/logger';
import type { Notifier } from '../notify/notification';
import { linkDownAlert, linkUpAlert, shouldReportLinkDown } from './link-policy';

export interface LinkWatchOptions {
  notifier: Notifier;
  tradingStatus: () => string | undefined;
  lastLifecycleAt: () => number | undefined;
  /** A drop shorter than this is a blip (default 5 s). */
  graceMs?: number;
  logger: Logger;
  clock: Clock;
}

export class LinkWatch {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private up: boolean | undefined;
  private downSince?: number;
  private downReason?: string;
  private reported = false;
  private cancelGrace?: CancelTimer;

  constructor(private readonly opts: LinkWatchOptions) {
    this.clock = opts.clock;
    this.logger = opts.logger.child({ module: 'link-watch' });
  }

  get linkUp(): boolean {
    return this.up === true;
  }

  attach(source: EventEmitter): void {
    source.on('link', (change: LinkChange) => this.onChange(change));
  }

  close(): void {
    this.cancelGrace?.();
    this.cancelGrace = undefined;
  }

  onChange(change: LinkChange): void {
    const now = this.clock.now();
    if (change.up) {
      this.up = true;
      this.close();
      if (this.reported) {
        this.reported = false;
        this.safeNotify(
          linkUpAlert(now, change.downtimeMs ?? (this.downSince ? now - this.downSince : undefined)),
        );
      }
      return;
    }
    if (this.up === false) return;
    this.up = false;
    this.downSince = now;
    this.downReason = change.reason;
    const graceMs = this.opts.graceMs ?? 5_000;
    this.cancelGrace = this.clock.timer(graceMs, () => {
      this.cancelGrace = undefined;
      const report = shouldReportLinkDown({
        stillDown: this.up === false,
        tradingStatus: this.opts.tradingStatus(),
        lastLifecycleAt: this.opts.lastLifecycleAt(),
        now: this.clock.now(),
        graceMs,
      });
      if (!report) return;
      this.reported = true;
      this.safeNotify(linkDownAlert(this.downSince ?? this.clock.now(), this.downReason));
    });
  }

  private safeNotify(n: Parameters<Notifier['notify']>[0]): void {
    this.opts.notifier
      .notify(n)
      .catch((err: unknown) => this.logger.error(`could not queue the link alert: ${errorMessage(err)}`));
  }
}
