/**
 * The persistent "blocked" marker of a Store (`<dir>/<name>.blocked.json`). When a store's file and its previous
 * generation both failed (quarantined), the marker is written before the service refuses to start (exit 78),
 * so a later plain start — `pm2 resurrect`, a reboot, a /restart — refuses again instead of silently starting
 * from defaults (operator pause and risk state lost). Only the operator clears it: `byninja state restore <file>`
 * (a checked copy becomes the state) or `byninja state reset` (start from defaults, knowingly).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { fsyncDirectory, toPersistenceError, writeFileDurable } from './durable-file';
import { readJsonFileSync } from './json-file';

export interface BlockedMarker {
  /** Store name (`trading-state`, `paper-exchange`). */
  store: string;
  /** When both generations were found unusable, epoch ms. */
  at: number;
  reason: string;
  /** Where the unusable generations were set aside. */
  quarantined: string[];
}

const markerSchema = z.looseObject({
  store: z.string(),
  at: z.number(),
  reason: z.string(),
  quarantined: z.array(z.string()),
});

export const BLOCKED_SUFFIX = '.blocked.json';

export function blockedMarkerPath(dir: string, name: string): string {
  return path.join(dir, `${name}${BLOCKED_SUFFIX}`);
}

/** The marker, or null when the store is not blocked. A marker that does not parse still blocks (fail safe). */
export function readBlockedMarker(dir: string, name: string): BlockedMarker | null {
  const file = blockedMarkerPath(dir, name);
  const read = readJsonFileSync(file, { parse: (value) => markerSchema.parse(value) });
  if (read.kind === 'missing') return null;
  if (read.kind === 'unreadable') throw toPersistenceError(read.error, file, 'read');
  if (read.kind === 'valid') return read.value;
  return { store: name, at: 0, reason: `unreadable blocked marker ${file}`, quarantined: [] };
}

export async function writeBlockedMarker(dir: string, marker: BlockedMarker): Promise<void> {
  await writeFileDurable(blockedMarkerPath(dir, marker.store), JSON.stringify(marker, null, 2) + '\n');
}

export async function clearBlockedMarker(dir: string, name: string): Promise<void> {
  const file = blockedMarkerPath(dir, name);
  try {
    await fsp.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw toPersistenceError(err, file, 'remove');
  }
  await fsyncDirectory(dir);
}

/** Names of the stores blocked in `dir`. */
export async function blockedStores(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw toPersistenceError(err, dir, 'list');
  }
  return names.filter((n) => n.endsWith(BLOCKED_SUFFIX)).map((n) => n.slice(0, -BLOCKED_SUFFIX.length));
}

/** The text every refusal shows: what happened and the two ways out. */
export function blockedMessage(marker: BlockedMarker, dir: string): string {
  const since = marker.at > 0 ? ` since ${new Date(marker.at).toISOString()}` : '';
  return (
    `State "${marker.store}" is BLOCKED${since}: ${marker.reason}. ` +
    (marker.quarantined.length ? `Set aside: ${marker.quarantined.join(', ')}. ` : '') +
    `Run \`byninja state restore <file>\` with a good copy, or \`byninja state reset\` to start from defaults ` +
    `(data dir ${dir}); then start again.`
  );
}
