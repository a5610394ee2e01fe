/**
 * A /restart of telegram itself never gets its pm2 callback (the process is replaced first), so the request is
 * persisted before restarting and confirmed by the next boot: `requestSelfRestartMarker` (the bot calls it just
 * before `pm2.restart('telegram')`), `takeSelfRestartMarker` (resync at start: read + delete).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { writeFileDurable } from '../../shared/persistence/durable-file';
import { readJsonFile } from '../../shared/persistence/json-file';

export interface SelfRestartMarker {
  /** Chat that asked, so the confirmation goes back there. */
  chatId: string;
  requestedAt: number;
}

export function selfRestartMarkerPath(dataDir: string): string {
  return path.join(dataDir, 'telegram-restart-requested.json');
}

/** Durably records that telegram's restart was requested (resolve before calling pm2). */
export async function requestSelfRestartMarker(dataDir: string, marker: SelfRestartMarker): Promise<void> {
  await writeFileDurable(selfRestartMarkerPath(dataDir), JSON.stringify(marker));
}

const markerSchema = z.looseObject({ chatId: z.string(), requestedAt: z.number().int().min(0) });

/**
 * Reads and removes the marker; undefined when none. One that does not match its schema (torn, hand-edited) is
 * renamed aside (`.corrupt-<time>`), never trusted and never a crash.
 */
export async function takeSelfRestartMarker(dataDir: string): Promise<SelfRestartMarker | undefined> {
  const file = selfRestartMarkerPath(dataDir);
  const read = await readJsonFile(file, { parse: (value) => markerSchema.parse(value) });
  if (read.kind === 'missing' || read.kind === 'unreadable') return undefined;
  if (read.kind === 'corrupt') {
    await fs
      .rename(file, `${file}.corrupt-${new Date().toISOString()}`)
      .catch(() => fs.rm(file, { force: true }));
    return undefined;
  }
  await fs.rm(file, { force: true });
  return { chatId: read.value.chatId, requestedAt: read.value.requestedAt };
}
