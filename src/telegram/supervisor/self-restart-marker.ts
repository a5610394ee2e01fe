/**
 * A /restart of telegram itself never gets its pm2 callback (the process is replaced first), so the request is
 * persisted before restarting and confirmed by the next boot: `requestSelfRestartMarker` (the bot calls it just
 * before `pm2.restart('telegram')`), `takeSelfRestartMarker` (resync at start: read + delete).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurable } from '../../shared/persistence/durable-file';

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

/** Reads and deletes the marker; undefined when none (or unreadable: a torn marker is not worth a crash). */
export async function takeSelfRestartMarker(dataDir: string): Promise<SelfRestartMarker | undefined> {
  const file = selfRestartMarkerPath(dataDir);
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  await fs.rm(file, { force: true });
  try {
    const parsed = JSON.parse(raw) as Partial<SelfRestartMarker>;
    if (typeof parsed.requestedAt !== 'number') return undefined;
    return { chatId: String(parsed.chatId ?? ''), requestedAt: parsed.requestedAt };
  } catch {
    return undefined;
  }
}
