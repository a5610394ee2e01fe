/**
 * Which process listens on a local TCP port (Linux: /proc/net/tcp{,6} gives the socket's inode, /proc/<pid>/fd
 * the process holding it). `undefined` when nothing listens there or this system does not say (another OS, or
 * a process of another user whose fds cannot be read): the caller then says "unknown", never guesses.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface PortHolder {
  pid: number;
  /** The holder's command line, shortened. */
  command: string;
}

const LISTEN = '0A';

/** Inodes of the sockets listening on `port` (any local address). */
function listeningInodes(port: number, procRoot: string): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(procRoot, 'net', table), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== LISTEN) continue;
      if (cols[1]!.split(':')[1] === hexPort) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

export function portHolder(port: number, procRoot = '/proc'): PortHolder | undefined {
  const inodes = listeningInodes(port, procRoot);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = fs.readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(path.join(procRoot, pid, 'fd'));
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(path.join(procRoot, pid, 'fd', fd));
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return { pid: Number(pid), command: commandOf(procRoot, pid) };
    }
  }
  return undefined;
}

function commandOf(procRoot: string, pid: string): string {
  try {
    const cmd = fs
      .readFileSync(path.join(procRoot, pid, 'cmdline'), 'utf8')
      .split('\0')
      .filter(Boolean)
      .join(' ');
    return cmd.length > 120 ? `${cmd.slice(0, 117)}…` : cmd || '?';
  } catch {
    return '?';
  }
}
