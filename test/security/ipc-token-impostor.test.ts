/**
 * Port squatting on loopback (review 34s): while trading is not listening (a crash restart's backoff, a crash loop, a
 * stop), any local user may listen on its IPC port. Telegram's link re-dials every backoff step (and every
 * `byninja status` dials once), and its first message, the hello, carried the IPC token in clear to whatever
 * answered: the other user then held the token, and with it everything the token allows on the real trading
 * (/closeall, pause, settleOrder) — ipc.token is 0600 exactly so that no other user has it. The client now looks up
 * whose socket serves the connection (peer-owner.ts, the kernel's socket tables) and sends no hello to another uid's.
 * Real sockets on loopback, the real IpcClient as telegram runs it, the real IpcServer; the impostor a real process
 * of another user (so the test needs root to start it: skipped otherwise).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { freePort } from '../../harness/ports';
import { serverSideUid } from '../../src/shared/ipc/peer-owner';
import {
  RawPeer,
  recordingClient,
  startTrading,
  tempDir,
  TOKEN,
  waitFor,
  type Trading,
} from '../support/ipc';

/** `nobody`: another user than the test's. */
const OTHER_UID = 65534;

/** A process of OTHER_UID listening on `port`, printing the first line each connection sends. */
async function impostorOn(port: number): Promise<{ child: ChildProcess; heard: string[] }> {
  const script = `require('net').createServer((s) => { let b = ''; s.on('error', () => {});
    s.on('data', (d) => { b += d; const i = b.indexOf('\\n'); if (i >= 0) { process.stdout.write(b.slice(0, i) + '\\n'); s.destroy(); } });
  }).listen(${port}, '127.0.0.1', () => process.stdout.write('listening\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { uid: OTHER_UID, gid: OTHER_UID });
  const heard: string[] = [];
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    let i: number;
    while ((i = out.indexOf('\n')) >= 0) {
      heard.push(out.slice(0, i));
      out = out.slice(i + 1);
    }
  });
  await waitFor('the impostor listening', () => heard.includes('listening'), 10_000);
  heard.splice(heard.indexOf('listening'), 1);
  return { child, heard };
}

describe('TCP layer: an impostor on trading’s port while trading is down', function () {
  this.timeout(30_000);
  let dir: string;
  let trading: Trading | undefined;
  const cleanups: Array<() => unknown> = [];

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await trading?.stop();
    trading = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('another user’s process on the port gets no hello (no token), and the link says why', async function () {
    if (process.getuid?.() !== 0 || !fs.existsSync('/proc/net/tcp')) {
      this.test!.title += ' (skipped: needs root to start another user’s process, and Linux)';
      this.skip();
    }
    const port = await freePort();
    const { child, heard } = await impostorOn(port);
    cleanups.push(() => child.kill('SIGKILL'));

    const { client, links } = recordingClient(port, { client: 'telegram' });
    cleanups.push(() => client.close());
    void client.connect().catch(() => undefined);
    await waitFor('the link reported down', () => links.length > 0, 10_000);
    // on main the impostor's first line was the hello, the token in it
    await new Promise((r) => setTimeout(r, 200));
    expect(heard.join('\n')).not.to.include(TOKEN);
    expect(JSON.stringify(links[0])).to.include(`held by another user's process (uid ${OTHER_UID})`);
  });

  it('trading itself (same user) still gets the hello: the link comes up', async () => {
    trading = await startTrading(dir);
    const { client } = recordingClient(trading.port, { client: 'telegram' });
    cleanups.push(() => client.close());
    await client.connect();
    expect(await client.call('ping', {})).to.have.property('pid', process.pid);
    // and the server's side of that connection is found as this process's (where the tables exist)
    const peer = await RawPeer.connect(trading.port);
    cleanups.push(() => peer.destroy());
    if (fs.existsSync('/proc/net/tcp')) {
      const table = fs.readFileSync('/proc/net/tcp', 'utf8');
      expect(serverSideUid(table, trading.port, peer.socket.localPort!)).to.equal(process.getuid!());
    }
  });
});
