/**
 * Port squatting on loopback (review 34s, OPEN — not fixed): while trading is not listening (a crash restart's
 * backoff, a crash loop, a stop), any local user may listen on its IPC port. Telegram's link re-dials every backoff
 * step (and every `byninja status` dials once), and its first message, the hello, carries the IPC token in clear to
 * whatever answers. The impostor then holds the token, and with it everything the token allows on the real trading:
 * /closeall, pause, settleOrder. ipc.token is 0600 exactly so another local user cannot have it; this hands it out.
 * A fix needs a hello that proves the token without sending it (a challenge-response both ways, e.g. HMAC(token,
 * nonces), a protocol version 3: client, server and the CLI's one-shot client) — bigger than a review's fix.
 * Real sockets on loopback, the real IpcClient as telegram runs it, the real IpcServer.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import { freePort } from '../../harness/ports';
import {
  RawPeer,
  recordingClient,
  startTrading,
  tempDir,
  TOKEN,
  waitFor,
  type Trading,
} from '../support/ipc';

describe('TCP layer: an impostor on trading’s port while trading is down', function () {
  this.timeout(30_000);
  let dir: string;
  let impostor: net.Server | undefined;
  let trading: Trading | undefined;
  const cleanups: Array<() => unknown> = [];

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await trading?.stop();
    await new Promise<void>((resolve) => (impostor ? impostor.close(() => resolve()) : resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // OPEN defect (review 34s): the hello gives the token to any listener. Fails on main: the first line holds TOKEN,
  // and that hello replayed to the real trading is accepted (checked with the first assertion inverted).
  it.skip('telegram’s link never gives the IPC token to whatever listens on the port', async () => {
    const port = await freePort();
    const heard: string[] = [];
    impostor = net.createServer((socket) => {
      socket.on('error', () => undefined);
      let buf = '';
      socket.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        const i = buf.indexOf('\n');
        if (i >= 0) {
          heard.push(buf.slice(0, i));
          socket.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => impostor!.listen(port, '127.0.0.1', resolve));

    const { client } = recordingClient(port, { client: 'telegram' });
    cleanups.push(() => client.close());
    void client.connect().catch(() => undefined);
    await waitFor('the client’s first message', () => heard.length > 0, 10_000);
    expect(heard[0], 'the first line a listener on the port reads').not.to.include(TOKEN);

    // what the impostor heard must not let it into the real trading either (replayed as it was sent)
    trading = await startTrading(dir);
    const peer = await RawPeer.connect(trading.port);
    cleanups.push(() => peer.destroy());
    const replayed = JSON.parse(heard[0]!) as { id: number };
    peer.write(heard[0]! + '\n');
    expect(
      await peer.response(replayed.id),
      'the real trading’s answer to the replayed hello',
    ).to.have.property('error');
  });
});
