/** The PM2 apps of ByNinja (names fixed by ecosystem.config.js). */
export const SERVICES = ['trading', 'telegram'] as const;

export type ServiceName = (typeof SERVICES)[number];

export function isServiceName(value: string): value is ServiceName {
  return (SERVICES as readonly string[]).includes(value);
}

/** `all` expands to every service, the caller's own service last (restarting it ends the caller). */
export function expandServiceTarget(target: string, self?: ServiceName): ServiceName[] | undefined {
  if (target === 'all') return [...SERVICES].sort((a, b) => Number(a === self) - Number(b === self));
  return isServiceName(target) ? [target] : undefined;
}
