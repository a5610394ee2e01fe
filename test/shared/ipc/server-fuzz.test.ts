/**
 * Property test: whatever a hostile or broken local peer sends, it gets the right JSON-RPC refusal (and the
 * connection closed when it is not trusted), while the server stays up and keeps serving a good client that
 * is connected the whole time.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import type { IpcClient } from '../../../src/shared/ipc/client';
import {
  PROTOCOL_VERSION,
  RPC_METHODS,
  RpcErrorCode,
  type TradingEvent,
} from '../../../src/shared/ipc/protocol';
import { RawPeer, recordingClient, startTrading, tempDir, TOKEN, type Trading } from '../../support/ipc';

const MAX_FRAME = 2048;

type Attack =
  | { kind: 'random-bytes'; bytes: Uint8Array }
  | { kind: 'huge-line'; size: number; authed: boolean }
  | { kind: 'invalid-json'; text: string }
  | { kind: 'wrong-params'; method: string; params: unknown }
  | { kind: 'unknown-method'; method: string }
  | { kind: 'no-hello'; method: string }
  | { kind: 'wrong-token'; token: string }
  | { kind: 'wrong-version'; version: number };

const notJson = (s: string): boolean => {
  try {
    JSON.parse(s);
    return false;
  } catch {
    return true;
  }
};

const attacks: fc.Arbitrary<Attack> = fc.oneof(
  fc
    .uint8Array({ minLength: 1, maxLength: 300 })
    .filter((b) => b.some((x) => x !== 0x0a && x !== 0x0d && x !== 0x20 && x !== 0x09))
    .map((bytes) => ({ kind: 'random-bytes' as const, bytes })),
  fc
    .record({ size: fc.integer({ min: MAX_FRAME + 1, max: MAX_FRAME * 4 }), authed: fc.boolean() })
    .map((r) => ({ kind: 'huge-line' as const, ...r })),
  fc
    .string({ minLength: 1, maxLength: 80 })
    .map((s) => s.replace(/[\r\n]/g, ''))
    .filter((s) => s.trim().length > 0 && notJson(s))
    .map((text) => ({ kind: 'invalid-json' as const, text })),
  fc
    .record({
      method: fc.constantFrom(...RPC_METHODS.filter((m) => m !== 'hello')),
      params: fc.oneof(
        fc.array(fc.jsonValue(), { maxLength: 3 }),
        fc.string(),
        fc.integer(),
        fc.constant(null),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue(), { maxKeys: 3 }).map((d) => ({
          ...d,
          zzUnexpectedField: true,
        })),
      ),
    })
    .map((r) => ({ kind: 'wrong-params' as const, ...r })),
  fc
    .string({ minLength: 1, maxLength: 30 })
    .filter((m) => !(RPC_METHODS as readonly string[]).includes(m))
    .map((method) => ({ kind: 'unknown-method' as const, method })),
  fc
    .constantFrom(...RPC_METHODS.filter((m) => m !== 'hello'))
    .map((method) => ({ kind: 'no-hello' as const, method })),
  fc
    .string({ maxLength: 100 })
    .filter((t) => t !== TOKEN)
    .map((token) => ({ kind: 'wrong-token' as const, token })),
  fc
    .integer({ min: -1000, max: 1000 })
    .filter((v) => v !== PROTOCOL_VERSION)
    .map((version) => ({ kind: 'wrong-version' as const, version })),
);

interface Expectation {
  codes: number[];
  closes: boolean;
}

async function run(port: number, attack: Attack): Promise<{ peer: RawPeer; expect: Expectation }> {
  const peer = await RawPeer.connect(port);
  const helloFirst = ['huge-line', 'invalid-json', 'wrong-params', 'unknown-method'].includes(attack.kind);
  if (helloFirst && !(attack.kind === 'huge-line' && !attack.authed)) {
    const hello = await peer.hello();
    if (!hello.result) throw new Error('good hello refused');
  }
  switch (attack.kind) {
    case 'random-bytes':
      peer.write(Buffer.concat([Buffer.from(attack.bytes), Buffer.from('\n')]));
      return { peer, expect: { codes: [RpcErrorCode.ParseError, RpcErrorCode.Unauthorized], closes: true } };
    case 'huge-line':
      peer.write(
        '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + 'x'.repeat(attack.size) + '"}}\n',
      );
      return { peer, expect: { codes: [RpcErrorCode.FrameTooLarge], closes: true } };
    case 'invalid-json':
      peer.write(attack.text + '\n');
      return { peer, expect: { codes: [RpcErrorCode.ParseError], closes: false } };
    case 'wrong-params':
      peer.request(1, attack.method, attack.params);
      return { peer, expect: { codes: [RpcErrorCode.InvalidParams], closes: false } };
    case 'unknown-method':
      peer.request(1, attack.method, {});
      return { peer, expect: { codes: [RpcErrorCode.MethodNotFound], closes: false } };
    case 'no-hello':
      peer.request(1, attack.method, {});
      return { peer, expect: { codes: [RpcErrorCode.Unauthorized], closes: true } };
    case 'wrong-token':
      peer.request(1, 'hello', { token: attack.token, version: PROTOCOL_VERSION, client: 'fuzz' });
      return { peer, expect: { codes: [RpcErrorCode.Unauthorized], closes: true } };
    case 'wrong-version':
      peer.request(1, 'hello', { token: TOKEN, version: attack.version, client: 'fuzz' });
      return { peer, expect: { codes: [RpcErrorCode.VersionMismatch], closes: true } };
  }
}

describe('ipc/IpcServer under hostile input (property)', () => {
  let dir: string;
  let trading: Trading;
  let good: IpcClient;
  let goodEvents: TradingEvent[];

  before(async () => {
    dir = tempDir();
    trading = await startTrading(dir, { maxFrameBytes: MAX_FRAME, maxClients: 8 });
    // Every method has a handler, so bad params are refused by validation and not as MethodNotFound.
    for (const m of RPC_METHODS) {
      if (m === 'hello' || m === 'subscribe' || m === 'ping') continue;
      trading.server.handle(m, () => ({}) as never);
    }
    const rc = recordingClient(trading.port, { cursor: { load: () => 0, save: async () => undefined } });
    good = rc.client;
    goodEvents = rc.events;
    await good.connect();
  });

  after(async () => {
    await good.close();
    await trading.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses each bad input with the right error, closes untrusted peers, and keeps serving a good client', async () => {
    let published = 0;
    await fc.assert(
      fc.asyncProperty(attacks, async (attack) => {
        const { peer, expect: want } = await run(trading.port, attack);
        try {
          // Refusals of a line that carries no usable request id are sent with id null.
          const unreadable = ['random-bytes', 'huge-line', 'invalid-json'].includes(attack.kind);
          const reply = await peer.response(unreadable ? null : 1);
          const code = (reply.error as { code?: number } | undefined)?.code;
          expect(want.codes, `${attack.kind}: ${JSON.stringify(reply)}`).to.include(code);
          if (want.closes) {
            await peer.waitClosed();
          } else {
            // Still usable after a refused request.
            peer.request(99, 'ping', {});
            expect((await peer.response(99)).result).to.have.property('pid', process.pid);
            expect(peer.closed).to.equal(false);
          }
        } finally {
          peer.destroy();
        }
        // The good client, connected all along, is still served and still streamed to.
        expect(good.connected).to.equal(true);
        expect((await good.call('ping', {})).pid).to.equal(process.pid);
        await trading.eventLog.publish('order.placed', 'still alive', {});
        published++;
        const want2 = published;
        const deadline = Date.now() + 2_000;
        while (goodEvents.length < want2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        expect(goodEvents.length).to.equal(want2);
      }),
      { numRuns: 120 },
    );
    expect(goodEvents.map((e) => e.seq)).to.deep.equal(goodEvents.map((_, i) => i + 1));
  });
});
