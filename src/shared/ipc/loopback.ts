/**
 * The IPC layer is for processes on this machine only: the token is a shared secret on local disk and the
 * protocol has no transport encryption. These checks keep the server on loopback even if the config
 * validation was bypassed (a hand-built config, a test, a future code path).
 */
import net from 'node:net';

/** true for `localhost`, any 127.0.0.0/8 address, `::1` and IPv4-mapped loopback (`::ffff:127.x.x.x`). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.split('.')[0] === '127';
  if (net.isIPv6(h)) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1].split('.')[0] === '127';
  }
  return false;
}

/**
 * The address to bind for a loopback host: `localhost` becomes 127.0.0.1 so the server and its clients agree
 * on one family whatever the resolver prefers.
 */
export function bindAddress(host: string): string {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' ? '127.0.0.1' : h;
}
