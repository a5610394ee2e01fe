/**
 * Whose process is at the other end of a loopback connection, from the kernel's socket tables (Linux /proc/net/tcp
 * and tcp6: the server's socket of this very connection, which keeps its listener's uid even before accept()).
 *
 * The IPC client asks before its hello, which carries the token: while trading is not listening (a crash restart's
 * backoff, a crash loop, a stop) any local user may listen on its port, and telegram re-dials every backoff step.
 * ipc.token is 0600 so that no other user has it; a process of our own uid could read it anyway, so only another
 * uid is refused. Where the tables cannot be read (not Linux) there is no check.
 */
import { promises as fsp } from 'node:fs';

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
/** /proc/net/tcp's state column: the connection is established. */
const ESTABLISHED = '01';

/**
 * The uid of the socket whose local port is `serverPort` and remote port `clientPort` (the server's side of our
 * connection) in one socket table's text, or undefined.
 */
export function serverSideUid(table: string, serverPort: number, clientPort: number): number | undefined {
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[3] !== ESTABLISHED) continue;
    const local = Number.parseInt(f[1]!.split(':').pop()!, 16);
    const remote = Number.parseInt(f[2]!.split(':').pop()!, 16);
    if (local === serverPort && remote === clientPort) return Number(f[7]);
  }
  return undefined;
}

/** The uid of the process serving our connection from `clientPort` to `serverPort`; undefined when unknown. */
export async function peerUid(
  serverPort: number,
  clientPort: number | undefined,
): Promise<number | undefined> {
  if (clientPort === undefined) return undefined;
  for (const file of TABLES) {
    const table = await fsp.readFile(file, 'utf8').catch(() => '');
    const uid = serverSideUid(table, serverPort, clientPort);
    if (uid !== undefined) return uid;
  }
  return undefined;
}

/** Why the token must not go to this peer (another user's process), or null. */
export async function strangerOnPort(
  serverPort: number,
  clientPort: number | undefined,
): Promise<string | null> {
  const me = process.getuid?.();
  if (me === undefined) return null;
  const owner = await peerUid(serverPort, clientPort);
  return owner === undefined || owner === me
    ? null
    : `port ${serverPort} is held by another user's process (uid ${owner}), not trading: the token is not sent`;
}
