import { expect } from 'chai';
import { CHART_HEIGHT, CHART_WIDTH, renderEquityChart } from '../../../src/ops/equity-chart';
import { formatReport, plainMarkup } from '../../../src/ops/render';
import type { HistoryEntry } from '../../../src/trading/engine/state/trading-state';
import { PnlReportBuilder } from '../../../src/trading/report/pnl-report';
import { readReport } from '../../../src/trading/report/read-report';
import { filledOrder, stubReport } from '../../support/trading-stub';
import { pngSize } from '../../support/png';

const NOW = Date.UTC(2026, 2, 10, 23, 0);

describe('the results report (pure)', () => {
  it('realized PnL by period, fees, win rate, best and worst round trip, drawdown and by symbol', () => {
    const r = stubReport(NOW);
    // trips: BTC +8.79 (610 - 600 less 1.21 fees), ETH -10 (-4 less 6 fees), BTC +6
    expect(r.periods.all).to.deep.equal({ realized: 4.79, trades: 3, wins: 2, fees: 7.21 });
    // today (UTC): the ETH trip and the last BTC trip closed today; their fees today
    expect(r.periods.today).to.deep.equal({ realized: -4, trades: 2, wins: 1, fees: 6 });
    expect(r.periods.days7).to.deep.equal(r.periods.all);
    expect(r.winRate).to.be.closeTo(2 / 3, 1e-9);
    expect(r.best).to.include({ symbol: 'BTC/USDT', pnl: 8.79 });
    expect(r.worst).to.include({ symbol: 'ETH/USDT', pnl: -10 });
    expect(r.maxDrawdown.amount).to.equal(10);
    expect(r.bySymbol.map((s) => [s.symbol, s.realized, s.trades])).to.deep.equal([
      ['BTC/USDT', 14.79, 2],
      ['ETH/USDT', -10, 1],
    ]);
    // the curve ends at today's equity and starts from it less everything realized and unrealized since
    expect(r.curve[r.curve.length - 1]).to.deep.equal([NOW, 10_250.5]);
    expect(r.curve[0]![1]).to.be.closeTo(10_250.5 - 10 - 4.79, 1e-6);
    expect(r.curve[1]![1]).to.be.closeTo(10_250.5 - 10 - 4.79 + 8.79, 1e-6);
  });

  it('each of the last 8 UTC days on its own, today last (what a late daily summary sends)', () => {
    const r = stubReport(NOW);
    expect(r.days!.map((d) => d.day)).to.deep.equal([
      '2026-03-03',
      '2026-03-04',
      '2026-03-05',
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
    ]);
    // the first BTC trip closed yesterday: 610 - 600 less 1.21 fees
    expect(r.days![6]).to.deep.equal({ day: '2026-03-09', realized: 8.79, trades: 1, wins: 1, fees: 1.21 });
    const { day: _day, ...today } = r.days![7]!;
    expect(today).to.deep.equal(r.periods.today);
    expect(r.days!.slice(0, 6).every((d) => d.trades === 0 && d.realized === 0)).to.equal(true);
  });

  it("a round trip across midnight: each fee on its fill's day, the PnL and the trade on the day it closed", () => {
    const b = new PnlReportBuilder({ now: NOW, quoteCurrency: 'USDT', lots: {}, fillOrder: 'trade-id' });
    b.add(filledOrder('m-1', 'BTC/USDT', 'buy', 1, 100, Date.UTC(2026, 2, 9, 23, 0), 1));
    b.add(filledOrder('m-2', 'BTC/USDT', 'sell', 1, 110, Date.UTC(2026, 2, 10, 1, 0), 2));
    const r = b.finish({ equity: 1000, unrealized: 0, openPositions: 0 });
    const day = (d: string) => r.days!.find((x) => x.day === d)!;
    expect(day('2026-03-09')).to.include({ trades: 0, fees: 1 });
    expect(day('2026-03-10')).to.include({ trades: 1, wins: 1, fees: 2 });
    expect(day('2026-03-09').realized + day('2026-03-10').realized).to.be.closeTo(
      r.periods.all.realized,
      1e-9,
    );
    const { day: _d, ...today } = day('2026-03-10');
    expect(today).to.deep.equal(r.periods.today);
  });

  it('counts an order once when the journal holds it twice, and the hot copy of a journal order once', () => {
    const b = new PnlReportBuilder({ now: NOW, quoteCurrency: 'USDT', lots: {}, fillOrder: 'trade-id' });
    const buy = filledOrder('d-1', 'BTC/USDT', 'buy', 1, 100, NOW - 2000);
    const sell = filledOrder('d-2', 'BTC/USDT', 'sell', 1, 110, NOW - 1000);
    for (const o of [buy, buy, sell, sell]) b.add(o);
    expect(b.finish({ equity: 1000, unrealized: 0, openPositions: 0 }).periods.all).to.deep.equal({
      realized: 10,
      trades: 1,
      wins: 1,
      fees: 0,
    });
  });

  it('says which part of the fees is an estimate (a fill marked feeEstimated: a stale or last-read price), in the text too', () => {
    const b = new PnlReportBuilder({ now: NOW, quoteCurrency: 'USDT', lots: {}, fillOrder: 'trade-id' });
    b.add(filledOrder('e-1', 'BTC/USDT', 'buy', 1, 100, NOW - 2000, 1));
    const sell = filledOrder('e-2', 'BTC/USDT', 'sell', 1, 110, NOW - 1000, 2);
    sell.fills[0].feeEstimated = true;
    b.add(sell);
    const r = b.finish({ equity: 1000, unrealized: 0, openPositions: 0 });
    expect(r.periods.all).to.deep.equal({ realized: 7, trades: 1, wins: 1, fees: 3, feesEstimated: 2 });
    expect(r.bySymbol[0]).to.include({ fees: 3, feesEstimated: 2 });
    expect(formatReport(r, plainMarkup)).to.include('fees 3.00 (2.00 estimated)');
    // none estimated: nothing said
    const plain = new PnlReportBuilder({ now: NOW, quoteCurrency: 'USDT', lots: {}, fillOrder: 'trade-id' });
    plain.add(filledOrder('p-1', 'BTC/USDT', 'buy', 1, 100, NOW - 2000, 1));
    expect(plain.finish({ equity: 1000, unrealized: 0, openPositions: 0 }).periods.all).to.not.have.property(
      'feesEstimated',
    );
  });

  it("the daily summary and /pnl say which equity the risk limits judge when it is the bot's own (trading.risk.capital)", () => {
    const b = new PnlReportBuilder({ now: NOW, quoteCurrency: 'USDT', lots: {}, fillOrder: 'trade-id' });
    const r = b.finish({
      equity: 7_000,
      riskEquity: { equity: 1_980.123456789, capital: 2_000 },
      unrealized: 0,
      openPositions: 0,
    });
    expect(r.riskEquity).to.deep.equal({ equity: 1_980.12345679, capital: 2_000 });
    expect(formatReport(r, plainMarkup)).to.include(
      "risk limits judge the bot's equity 1,980.12 USDT (capital 2,000.00 + its PnL), not the account's",
    );
    const unset = new PnlReportBuilder({ now: NOW, quoteCurrency: 'USDT', lots: {}, fillOrder: 'trade-id' });
    const plain = unset.finish({ equity: 7_000, unrealized: 0, openPositions: 0 });
    expect(plain).not.to.have.property('riskEquity');
    expect(formatReport(plain, plainMarkup)).not.to.include('risk limits judge');
  });

  it('folds fills in time order, not archive order: an exit archived before its entry still closes its round trip', async () => {
    // three round trips; each exit ended (and was archived) before its entry's order record was archived
    const orders = [0, 1, 2].flatMap((i) => {
      const t = NOW - 10_000 + i * 2_000;
      return [
        filledOrder(`r-${i}-sell`, 'BTC/USDT', 'sell', 1, 110, t + 1_000),
        filledOrder(`r-${i}-buy`, 'BTC/USDT', 'buy', 1, 100, t),
      ];
    });
    const entries: HistoryEntry[] = orders.map((order, seq) => ({
      kind: 'order',
      archivedAt: NOW,
      order,
      seq,
    }));
    const report = await readReport({
      history: { readPage: async () => ({ entries, next: null }) },
      pageBytes: 1 << 20,
      hotOrders: () => [],
      fillOrder: 'trade-id',
      lots: () => ({ 'BTC/USDT': { amountStep: 0.001, minAmount: 0.001 } }),
      quoteCurrency: 'USDT',
      end: () => ({ equity: 1000, unrealized: 0, openPositions: 0 }),
      now: () => NOW,
    });
    // before: the per-order fold sold before buying, and the report counted 2 of the 3 trips
    expect(report.periods.all).to.deep.include({ trades: 3, wins: 3, realized: 30 });
  });

  it('stays bounded over a long history: a thinned curve, an exact drawdown', () => {
    const b = new PnlReportBuilder({ now: NOW, quoteCurrency: 'USDT', lots: {}, fillOrder: 'trade-id' });
    const trips = 20_000;
    for (let i = 0; i < trips; i++) {
      const at = NOW - (trips - i) * 60_000;
      // +1, +1, -3 … and one deep loss of 500 in the middle
      const exit = i === trips / 2 ? 600 : i % 3 === 2 ? 97 : 101;
      b.add(filledOrder(`l-${i}-b`, 'BTC/USDT', 'buy', 1, 100, at));
      b.add(filledOrder(`l-${i}-s`, 'BTC/USDT', 'sell', 1, exit === 600 ? 100 - 500 : exit, at + 1));
    }
    const r = b.finish({ equity: 0, unrealized: 0, openPositions: 0 });
    expect(r.periods.all.trades).to.equal(trips);
    expect(r.curve.length).to.be.at.most(1_002);
    expect(r.maxDrawdown.amount).to.be.at.least(500);
    expect(r.worst!.pnl).to.equal(-500);
  });

  it('renders the equity curve as a PNG of 960×540 in-process (chart.js on @napi-rs/canvas)', () => {
    const png = renderEquityChart(stubReport(NOW));
    expect(pngSize(png)).to.deep.equal({ width: CHART_WIDTH, height: CHART_HEIGHT });
    // a drawn chart (axes, labels, a filled curve), not a blank canvas
    expect(png.length).to.be.greaterThan(10_000);
    const empty = new PnlReportBuilder({
      now: NOW,
      quoteCurrency: 'USDT',
      lots: {},
      fillOrder: 'trade-id',
    }).finish({
      equity: 10_000,
      unrealized: 0,
      openPositions: 0,
    });
    expect(pngSize(renderEquityChart(empty))).to.deep.equal({ width: CHART_WIDTH, height: CHART_HEIGHT });
    expect(formatReport(empty, plainMarkup)).to.include('no closed trade');
  });
});
