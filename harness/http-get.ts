/** A GET on loopback with a deadline: `null` when no answer came in time (a stopped process accepts, never answers). */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

export function httpGet(port: number, route: string, timeoutMs = 2_000): Promise<HttpAnswer | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: route, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body,
        }),
      );
      res.on('error', () => resolve(null));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve(null);
    });
    req.on('error', () => resolve(null));
  });
}

/** The value of one Prometheus series (`name{labels}` exactly as printed, labels sorted as prom-client does). */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (line.slice(0, cut) === series) return Number(line.slice(cut + 1));
  }
  return undefined;
}
