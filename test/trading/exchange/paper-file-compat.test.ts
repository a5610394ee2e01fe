import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../harness/pm2';
import type { PaperOrderRecord } from '../../../src/trading/exchange/paper-account';
import { BTC, CANDLE, PaperFixture } from '../../support/paper-fixture';

/**
 * The account file a running bot's paper exchange wrote before fills came only from completed periods (main at
 * aee1080, same file version 1): order 1 had its second slice filled in the period that was RUNNING when it was
 * looked at (bucket 897847201, at that look's quote), order 2 rests untouched. It must load, keep what filled, and
 * fill on from the periods after without filling that period again.
 */
const FIXTURE = path.join(REPO_ROOT, 'test/trading/exchange/paper-fixtures/running-period-fill-v1.json');

describe('paper exchange: an account file written before fills came only from completed periods', () => {
  let f: PaperFixture;
  beforeEach(() => (f = new PaperFixture()));
  afterEach(() => f.close());

  it('loads, keeps its fills, and fills on from the next completed period (never the one already filled)', async () => {
    const old = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as {
      data: {
        orders: Record<string, PaperOrderRecord>;
        balances: Record<string, { free: number; used: number }>;
      };
    };
    const before = old.data.orders['1'];
    fs.copyFileSync(FIXTURE, path.join(f.dir, 'paper-exchange.json'));
    const totalUsdt = old.data.balances.USDT.free + old.data.balances.USDT.used;
    f.clock.time = before.trades[1].timestamp + 20 * CANDLE;
    const ex = await f.open({ startingBalances: { USDT: 100_000 } });

    const a = await ex.fetchOrderByClientId('bot-tst000-1', BTC);
    expect(a.trades!.slice(0, 2), 'what had filled is kept as it was').to.deep.equal(before.trades);
    const later = a.trades!.slice(2);
    expect(later.length, 'it fills on').to.be.greaterThan(0);
    for (const t of later) {
      expect(t.timestamp % CANDLE, 'at the end of a completed period').to.equal(0);
      expect(t.timestamp / CANDLE - 1, 'after the period filled before').to.be.greaterThan(
        before.lastFillBucket,
      );
    }
    expect(a.filled).to.be.closeTo(
      a.trades!.reduce((s, t) => s + t.amount, 0),
      1e-12,
    );
    expect(a.filled).to.be.at.most(a.amount);

    const b = await ex.fetchOrderByClientId('bot-tst000-2', BTC);
    const balance = await ex.fetchBalance();
    // the file's balances already paid for the two fills it had: what follows pays for the later ones only
    const spentSince = [...later, ...b.trades!].reduce((s, t) => s + t.cost + t.fee.cost, 0);
    expect(balance.USDT.total, 'every fill paid for once').to.be.closeTo(totalUsdt - spentSince, 1e-6);
    expect(balance.BTC.total).to.be.closeTo(a.filled + b.filled, 1e-12);
  });
});
