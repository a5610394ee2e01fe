/** A PM2 process as Pm2Client.list() describes it: trading online, no restarts, unless `over` says otherwise. */
import type { Pm2ProcessView } from '../../src/ops/pm2-client';

export function pm2View(over: Partial<Pm2ProcessView> = {}): Pm2ProcessView {
  return {
    name: 'trading',
    pmId: 0,
    pid: 100,
    status: 'online',
    restarts: 0,
    unstableRestarts: 0,
    uptimeMs: 1000,
    memoryBytes: 0,
    cpuPercent: 0,
    exitCode: 0,
    ...over,
  };
}
