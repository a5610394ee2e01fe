/**
 * Floor of the TCP round trip: a raw newline-delimited echo over loopback in the same process shape as the
 * IPC benchmark (client and server in this process, Nagle off), carrying a JSON-RPC-sized line.
 */
import net from 'node:net';
import { nowMs, summarize, type Summary } from './stats';

/**
 * Calls made before measuring, on both sides of the comparison: steady-state latency is what a daemon running for
 * months sees. 200 left the IPC path (json-rpc-2.0, params checks, framing) still half-optimized by V8: its first
 * 3,000 calls measured ~2× the floor, the next 3,000 ~1× (measured here), while the bare echo warms up at once.
 */
export const WARM_UP_CALLS = 3_000;

const LINE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: {} }) + '\n';

export async function rawTcpEchoRoundTrip(n: number): Promise<Summary> {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        s.write(buf.slice(0, i + 1));
        buf = buf.slice(i + 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  try {
    let pending: (() => void) | undefined;
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.includes('\n')) {
        buf = buf.slice(buf.indexOf('\n') + 1);
        pending?.();
      }
    });
    const once = (): Promise<void> =>
      new Promise((resolve) => {
        pending = resolve;
        sock.write(LINE);
      });
    for (let i = 0; i < WARM_UP_CALLS; i++) await once(); // warm up
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = nowMs();
      await once();
      samples.push(nowMs() - t0);
    }
    return summarize(samples);
  } finally {
    sock.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
