/**
 * The telegram service's Prometheus metrics (`/metrics`): the outbox (depth, oldest waiting, delivery latency),
 * its links (PM2 event bus, trading's TCP layer, Telegram itself) and, as the supervisor, PM2's view of every
 * ByNinja app (up, restarts, last exit code) — read at scrape time. Plus prom-client's default process and Node.js
 * metrics (event-loop lag…), every series labelled `service="telegram"`.
 */
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Pm2ProcessView } from '../ops/pm2-client';
import type { DeliveryState } from './notify/delivery-health';
import { SERVICES } from '../ops/services';

const BYNINJA_APPS: ReadonlySet<string> = new Set(SERVICES);

export interface TelegramMetricsDeps {
  outboxDepth: () => number;
  oldestWaitingAt: () => number | null;
  busConnected: () => boolean;
  tradingLinkUp: () => boolean;
  delivery: () => DeliveryState;
  /** PM2's process list (the supervisor's PM2 connection); a failure leaves the pm2 series out of that scrape. */
  pm2List: () => Promise<Pm2ProcessView[]>;
  lastExitKind: string;
  pm2Restarts?: number;
  version: string;
  now: () => number;
}

export interface TelegramMetrics {
  registry: Registry;
  /** Feed for Outbox.onDelivered. */
  observeDelivery: (delayMs: number) => void;
}

export function createTelegramMetrics(deps: TelegramMetricsDeps): TelegramMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'telegram' });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const bool = (b: boolean): number => (b ? 1 : 0);

  new Gauge({
    name: 'byninja_info',
    help: 'Build of this service (value 1).',
    labelNames: ['version'],
    registers,
  }).set({ version: deps.version }, 1);
  new Gauge({
    name: 'byninja_last_exit',
    help: 'How the previous run of this service ended (value 1 on its kind: clean, crash, stall, killed, first-start).',
    labelNames: ['kind'],
    registers,
  }).set({ kind: deps.lastExitKind }, 1);
  new Gauge({
    name: 'byninja_outbox_depth',
    help: 'Notifications waiting in the durable outbox.',
    registers,
    collect() {
      this.set(deps.outboxDepth());
    },
  });
  new Gauge({
    name: 'byninja_outbox_oldest_age_seconds',
    help: 'Age of the oldest waiting notification (0 when none waits).',
    registers,
    collect() {
      const at = deps.oldestWaitingAt();
      this.set(at === null ? 0 : Math.max(0, deps.now() - at) / 1000);
    },
  });
  const delivery = new Histogram({
    name: 'byninja_alert_delivery_seconds',
    help: 'From a notification (or the trading event behind it) to Telegram accepting it.',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
    registers,
  });
  new Gauge({
    name: 'byninja_pm2_bus_connected',
    help: "1 while connected to PM2's event bus (crash alerts depend on it).",
    registers,
    collect() {
      this.set(bool(deps.busConnected()));
    },
  });
  new Gauge({
    name: 'byninja_trading_link_up',
    help: "1 while the TCP link to trading's control layer is up.",
    registers,
    collect() {
      this.set(bool(deps.tradingLinkUp()));
    },
  });
  new Gauge({
    name: 'byninja_telegram_delivery_ok',
    help: '1 while alerts go to Telegram without a problem; 0 while they fall back to the log (or log-only mode).',
    registers,
    collect() {
      const d = deps.delivery();
      this.set(bool(d.alerts === 'telegram' && !d.problem));
    },
  });
  // one PM2 list per scrape, shared by the series below (prom-client collects them side by side)
  let listed: { at: number; list: Promise<Pm2ProcessView[] | null> } | undefined;
  const pm2View = (): Promise<Pm2ProcessView[] | null> => {
    const now = deps.now();
    if (!listed || now - listed.at > 1_000) {
      listed = { at: now, list: deps.pm2List().catch(() => null) };
    }
    return listed.list;
  };
  const perApp = (name: string, help: string, value: (p: Pm2ProcessView) => number | undefined): void => {
    new Gauge({
      name,
      help,
      labelNames: ['app'],
      registers,
      async collect() {
        this.reset();
        // ByNinja's own apps only: other PM2 apps on the host are not ours to name (nor to grow the series)
        for (const p of (await pm2View()) ?? []) {
          if (!BYNINJA_APPS.has(p.name)) continue;
          const v = value(p);
          if (v !== undefined) this.set({ app: p.name }, v);
        }
      },
    });
  };
  new Gauge({
    name: 'byninja_pm2_reachable',
    help: "1 when this scrape could read PM2's process list (the byninja_pm2_app_* series come from it).",
    registers,
    async collect() {
      this.set(bool((await pm2View()) !== null));
    },
  });
  perApp('byninja_pm2_app_up', 'PM2 shows the app online (1) or not (0).', (p) =>
    bool(p.status === 'online'),
  );
  perApp(
    'byninja_pm2_app_restarts',
    "PM2's restart count of the app (reset by pm2 delete).",
    (p) => p.restarts,
  );
  perApp(
    'byninja_pm2_app_last_exit_code',
    "Exit code of the app's last run as PM2 recorded it (a death by signal shows as 0).",
    (p) => p.exitCode,
  );
  return { registry, observeDelivery: (ms) => delivery.observe(ms / 1000) };
}
