/**
 * The CLI's Bot API client against a real HTTP server on loopback: it hands back every answer with its status,
 * reads a body that is not the Bot API's JSON as an empty answer, and keeps the token out of what it returns or
 * throws.
 */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BotApiUnreachable, callBotApi } from '../../src/ops/bot-api';

const TOKEN = '123456:ABC-bot-api-test-token';

interface Seen {
  method?: string;
  url?: string;
  body: string;
}

async function server(
  answer: (seen: Seen) => { status: number; body: string },
): Promise<{ root: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s = { method: req.method, url: req.url, body };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    root: `http://127.0.0.1:${port}/`,
    seen,
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

describe('Bot API client (CLI calls)', () => {
  it('POSTs the params as JSON to /bot<token>/<method> and returns the result', async () => {
    const s = await server(() => ({
      status: 200,
      body: JSON.stringify({ ok: true, result: [{ update_id: 7 }] }),
    }));
    try {
      const a = await callBotApi<{ update_id: number }[]>(
        { apiRoot: s.root, token: TOKEN },
        'getUpdates',
        { offset: -1, timeout: 0 },
        5_000,
      );
      expect(a).to.deep.equal({ status: 200, ok: true, result: [{ update_id: 7 }] });
      expect(s.seen[0]).to.include({ method: 'POST', url: `/bot${TOKEN}/getUpdates` });
      expect(JSON.parse(s.seen[0]!.body)).to.deep.equal({ offset: -1, timeout: 0 });
    } finally {
      await s.close();
    }
  });

  it('GETs a method without params', async () => {
    const s = await server(() => ({ status: 200, body: JSON.stringify({ ok: true, result: { id: 1 } }) }));
    try {
      const a = await callBotApi({ apiRoot: s.root, token: TOKEN }, 'getMe', undefined, 5_000);
      expect(a.ok).to.equal(true);
      expect(s.seen[0]!.method).to.equal('GET');
    } finally {
      await s.close();
    }
  });

  it('returns a refusal with its status, and the description without the token in it', async () => {
    const s = await server(() => ({
      status: 401,
      body: JSON.stringify({ ok: false, error_code: 401, description: `Unauthorized: bot${TOKEN} revoked` }),
    }));
    try {
      const a = await callBotApi({ apiRoot: s.root, token: TOKEN }, 'getMe', undefined, 5_000);
      expect(a.status).to.equal(401);
      expect(a.ok).to.equal(false);
      expect(a.description).to.be.a('string').and.include('Unauthorized');
      expect(a.description).not.to.include(TOKEN);
    } finally {
      await s.close();
    }
  });

  it('reads a 200 whose body is not the Bot API JSON as not ok (a proxy page, a truncated answer)', async () => {
    const s = await server(() => ({ status: 200, body: '<html>gateway</html>' }));
    try {
      const a = await callBotApi({ apiRoot: s.root, token: TOKEN }, 'getMe', undefined, 5_000);
      expect(a).to.deep.equal({ status: 200, ok: false });
    } finally {
      await s.close();
    }
  });

  it('throws BotApiUnreachable without the token when nothing answers', async () => {
    const s = await server(() => ({ status: 200, body: '{}' }));
    await s.close(); // the port is now closed: connection refused
    const err = await callBotApi(
      {
        apiRoot: s.root,
        token: TOKEN,
        fetch: (url) => Promise.reject(new Error(`connect failed for ${String(url)}`)),
      },
      'getMe',
      undefined,
      5_000,
    ).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BotApiUnreachable);
    expect((err as Error).message)
      .to.include('connect failed')
      .and.not.include(TOKEN);
    const real = await callBotApi({ apiRoot: s.root, token: TOKEN }, 'getMe', undefined, 5_000).catch(
      (e: unknown) => e,
    );
    expect(real).to.be.instanceOf(BotApiUnreachable);
  });
});
