/**
 * The HTTP shell on a real loopback socket: what leaves it passes the service's redactor (a check's detail quotes
 * errors, and a Bot API error quotes its URL with the bot token), and the routes answer as documented.
 */
import { expect } from 'chai';
import net from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { systemClock } from '../../../src/shared/clock';
import { healthReport } from '../../../src/shared/http/health';
import { OpsHttpServer } from '../../../src/shared/http/ops-http-server';
import { silentLogger } from '../../../src/shared/logging/logger';
import { Redactor } from '../../../src/shared/logging/redact';
import { httpGet } from '../../../harness/http-get';
import { eventually } from '../../../harness/pm2';

const BOT_TOKEN = '123456789:AAH-secret-bot-token-abcdefghijklmnop';

describe('ops HTTP server (loopback)', () => {
  let server: OpsHttpServer;
  let port: number;

  before(async () => {
    const registry = new Registry();
    const gauge = new Gauge({
      name: 'byninja_probe',
      help: 'a probe',
      labelNames: ['why'],
      registers: [registry],
    });
    gauge.set({ why: `fetch https://api.telegram.org/bot${BOT_TOKEN}/getMe failed` }, 1);
    server = new OpsHttpServer({
      service: 'telegram',
      host: '127.0.0.1',
      port: 0,
      portHint: 'set http.telegramPort',
      metrics: registry,
      logger: silentLogger(),
      redactor: new Redactor([BOT_TOKEN]),
      clock: systemClock,
      health: () =>
        healthReport('telegram', [
          {
            name: 'bot-api',
            ok: false,
            detail: `request to https://api.telegram.org/bot${BOT_TOKEN}/getUpdates failed: ECONNREFUSED`,
          },
        ]),
    });
    port = (await server.listen())!;
  });
  after(() => server.close());

  it('never answers a secret: /health and /metrics are redacted', async () => {
    const health = await httpGet(port, '/health');
    expect(health?.status).to.equal(503);
    expect(health!.body).to.include('getUpdates failed').and.not.include(BOT_TOKEN);
    const metrics = await httpGet(port, '/metrics');
    expect(metrics?.status).to.equal(200);
    expect(metrics!.body).to.include('byninja_probe').and.not.include(BOT_TOKEN);
  });

  it('silent sockets filling every slot are dropped within seconds: a monitor gets its answer again', async () => {
    const silent: net.Socket[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        silent.push(s);
      }
      await Promise.all(silent.map((s) => new Promise((r) => s.once('connect', r))));
      // before: Node looked at its connections every 30 s, so for ~30 s every request was reset
      const answer = await eventually(
        async () => (await httpGet(port, '/health/live', 1_000)) ?? undefined,
        15_000,
        '/health/live',
      );
      expect(answer.status).to.equal(200);
    } finally {
      for (const s of silent) s.destroy();
    }
  });

  it('answers liveness while not ready, 404 elsewhere', async () => {
    expect((await httpGet(port, '/health/live'))?.status).to.equal(200);
    expect((await httpGet(port, '/nope'))?.status).to.equal(404);
  });
});
