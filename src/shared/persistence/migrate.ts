/** Schema migrations of a store's data: pure functions applied one version step at a time. */
import { CorruptStateError } from '../errors';

/** Key n migrates data of version n to version n+1. */
export type Migrations = Record<number, (old: any) => any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** First version in [from, to) that has no migration step, or undefined when the chain is complete. */
export function missingMigration(migrations: Migrations, from: number, to: number): number | undefined {
  for (let v = from; v < to; v++) if (typeof migrations[v] !== 'function') return v;
  return undefined;
}

/**
 * Runs migrations `from` → `from+1` → … → `to` in order. A gap in the table throws CorruptStateError before any
 * step runs, so a version can never be skipped silently.
 */
export function migrateData(
  data: unknown,
  from: number,
  to: number,
  migrations: Migrations,
  file: string,
): unknown {
  const gap = missingMigration(migrations, from, to);
  if (gap !== undefined) {
    throw new CorruptStateError(
      `${file} has schema version ${from} but this build has no migration from version ${gap} to ${gap + 1}`,
      { path: file, fromVersion: gap },
    );
  }
  let current = data;
  for (let v = from; v < to; v++) current = migrations[v](current);
  return current;
}
