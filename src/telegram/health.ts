/**
 * Is the telegram service ready (pure)? Started, and connected to PM2's event bus: without the bus no crash is
 * seen, which is its job. Trading's TCP link and Telegram's own state are reported too but decide nothing:
 * with trading down, or Telegram refusing us, the supervisor still watches and alerts to the log — it is ready.
 */
import { healthReport, type HealthReport } from '../shared/http/health';
import type { DeliveryState } from './notify/delivery-health';

export interface TelegramHealthInput {
  started: boolean;
  busConnected: boolean;
  tradingLinkUp: boolean;
  delivery: DeliveryState;
}

export function telegramHealth(h: TelegramHealthInput): HealthReport {
  const problem = h.delivery.problem;
  return healthReport(
    'telegram',
    [
      { name: 'started', ok: h.started, detail: h.started ? 'started' : 'starting' },
      {
        name: 'pm2-bus',
        ok: h.busConnected,
        detail: h.busConnected ? 'connected to PM2 events' : 'PM2 event bus not connected (reconnecting)',
      },
    ],
    [
      { name: 'trading-link', ok: h.tradingLinkUp, detail: h.tradingLinkUp ? 'up' : 'down' },
      {
        name: 'alerts',
        ok: h.delivery.alerts === 'telegram' && !problem,
        detail: problem
          ? `${problem.kind}: ${problem.detail}`
          : h.delivery.alerts === 'log'
            ? `log only (${h.delivery.logOnlyReason ?? 'Telegram refuses'})`
            : 'delivered to Telegram',
      },
    ],
  );
}
