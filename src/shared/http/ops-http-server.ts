/**
 * The daemons' HTTP endpoints on loopback (`http` config section): `/health`, `/health/ready`, `/health/live` and
 * `/metrics` (Prometheus text format, from the service's prom-client registry). A thin shell: what "ready" means
 * is each service's pure health function, what is measured its metrics module.
 *
 * Monitoring must never stop a service: a port held by another program is logged (with the setting that moves
 * it) and the service runs on without HTTP. GET only; small timeouts and a connection cap, so a stuck scraper
 * costs nothing. Every answer passes the service's one redactor: a check's detail quotes errors (an exchange's or the
 * Bot API's, whose URL holds the bot token), and secrets never leave a process.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock';
import { errorMessage } from '../errors';
import type { Logger } from '../logging/logger';
import type { Redactor } from '../logging/redact';
import { livenessAnswer, readinessAnswer, type HealthAnswer, type HealthReport } from './health';

export interface OpsHttpServerOptions {
  service: string;
  host: string;
  port: number;
  /** How to move it, said when the port is taken (e.g. "set http.tradingPort (BYNINJA__HTTP__TRADING_PORT)"). */
  portHint: string;
  health: () => HealthReport;
  metrics: Registry;
  logger: Logger;
  redactor: Redactor;
  clock: Clock;
}

const MAX_CONNECTIONS = 32;

export class OpsHttpServer {
  private readonly server: http.Server;
  private readonly logger: Logger;
  private readonly startedAt: number;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: OpsHttpServerOptions) {
    this.logger = opts.logger.child({ module: 'http' });
    this.startedAt = this.now();
    // Node enforces headersTimeout/requestTimeout only when it checks its connections (every 30 s by default): 32
    // silent sockets would lock monitors out that long. Checked every second, they are gone in ~5 s.
    this.server = http.createServer(
      { connectionsCheckingInterval: 1_000 },
      (req, res) => void this.answer(req, res),
    );
    this.server.maxConnections = MAX_CONNECTIONS;
    this.server.requestTimeout = 10_000;
    this.server.headersTimeout = 5_000;
    this.server.keepAliveTimeout = 5_000;
  }

  /** Starts listening; resolves with the port, or null when it could not (logged: the service runs on without). */
  listen(): Promise<number | null> {
    const { host, port } = this.opts;
    return new Promise((resolve) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why =
          err.code === 'EADDRINUSE'
            ? `port ${port} is used by another program: ${this.opts.portHint}`
            : errorMessage(err);
        this.logger.error(`/health and /metrics are off: cannot listen on ${host}:${port} (${why})`);
        resolve(null);
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.logger.warn(`HTTP server error: ${errorMessage(err)}`));
        const bound = (this.server.address() as AddressInfo).port;
        this.logger.info(`/health and /metrics on http://${host}:${bound}`);
        resolve(bound);
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private now(): number {
    return this.opts.clock.now();
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
        return;
      }
      const route = (req.url ?? '/').split('?')[0];
      switch (route) {
        case '/health':
        case '/health/ready':
          return this.sendJson(res, readinessAnswer(this.opts.health(), this.now()));
        case '/health/live':
          return this.sendJson(
            res,
            livenessAnswer(this.opts.service, this.now(), this.now() - this.startedAt),
          );
        case '/metrics': {
          const text = this.opts.redactor.redactString(await this.opts.metrics.metrics());
          res.writeHead(200, { 'content-type': this.opts.metrics.contentType }).end(text);
          return;
        }
        default:
          res
            .writeHead(404, { 'content-type': 'text/plain' })
            .end('Not found: /health, /health/ready, /health/live, /metrics\n');
      }
    } catch (err) {
      this.logger.warn(`HTTP ${req.url ?? ''} failed: ${errorMessage(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  }

  private sendJson(res: http.ServerResponse, answer: HealthAnswer): void {
    res
      .writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify(this.opts.redactor.redactValue(answer.body)) + '\n');
  }
}
