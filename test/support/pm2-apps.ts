/**
 * Waiting for and killing PM2 apps through the real PM2 client (in-process, so polling is cheap compared with
 * spawning `pm2 jlist`).
 */
import type { Pm2Client, Pm2ProcessView } from '../../src/ops/pm2-client';
import { eventually } from '../../harness/pm2';

export function waitForApp(
  pm2: Pm2Client,
  name: string,
  ok: (p: Pm2ProcessView) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<Pm2ProcessView> {
  return eventually(
    async () => (await pm2.list()).find((p) => p.name === name && ok(p)),
    timeoutMs,
    `${name}: ${what}`,
  );
}

/** SIGKILLs the app's current process (no shutdown runs) and waits until PM2 has it online again. */
export async function sigkillApp(
  pm2: Pm2Client,
  name: string,
): Promise<{ before: Pm2ProcessView; after: Pm2ProcessView }> {
  const before = await waitForApp(pm2, name, (p) => p.status === 'online' && p.pid > 0, 'online');
  process.kill(before.pid, 'SIGKILL');
  const after = await waitForApp(
    pm2,
    name,
    (p) => p.status === 'online' && p.pid > 0 && p.pid !== before.pid,
    'restarted after SIGKILL',
  );
  return { before, after };
}
