import { expect } from 'chai';
import type { Registry } from 'prom-client';
import fs from 'node:fs';
import path from 'node:path';
import { createTelegramMetrics } from '../../src/telegram/metrics';
import { createTradingMetrics } from '../../src/trading/control/metrics';
import { REPO_ROOT } from '../../harness/pm2';
import { tradingMetricsDeps } from '../support/trading-metrics-deps';

/** Metric names a registry exposes (histogram series `_bucket`, `_sum`, `_count` included). */
async function exposed(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

describe('the Grafana dashboard in docs/', () => {
  it('queries only metrics the daemons expose', async () => {
    const trading = createTradingMetrics(tradingMetricsDeps());
    const telegram = createTelegramMetrics({
      outboxDepth: () => 0,
      oldestWaitingAt: () => null,
      busConnected: () => true,
      tradingLinkUp: () => true,
      delivery: () => ({ alerts: 'telegram' }),
      pm2List: async () => [],
      lastExitKind: 'clean',
      version: '1',
      now: () => 0,
    });
    const names = new Set([...(await exposed(trading.registry)), ...(await exposed(telegram.registry))]);
    const dashboard = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, 'docs/grafana-dashboard.json'), 'utf8'),
    ) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const used = new Set<string>();
    for (const panel of dashboard.panels)
      for (const t of panel.targets)
        for (const m of t.expr.matchAll(/\b(byninja_[a-z_]+|nodejs_[a-z_]+|process_[a-z_]+)\b/g))
          used.add(m[1]!);
    expect(used.size).to.be.greaterThan(15);
    expect([...used].filter((n) => !names.has(n))).to.deep.equal([]);
  });
});
