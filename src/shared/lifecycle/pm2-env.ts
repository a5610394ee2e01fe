/**
 * What PM2 tells a process it runs through its environment: PM2 passes the app's own state as variables, among
 * them `restart_time` (restarts so far). Absent outside PM2.
 */
export function pm2RestartCount(env: NodeJS.ProcessEnv = process.env): { pm2Restarts?: number } {
  const raw = env.restart_time;
  const n = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isInteger(n) && n >= 0 ? { pm2Restarts: n } : {};
}
