/**
 * Bybit refuses a market order too large for its book now: error.mdx (Spot Trade) 170198 "Your order quantity to sell
 * is too large. The filled price may deviate significantly from the market price. Please try again" (170197 for a
 * buy; zh-TW 市價單賣出偏離值風控, the market order's deviation risk control), no threshold given. On main a stop-loss
 * so refused backed off (`protectiveCooldownUntil`) and was sent again at the same size, refused again for as long as
 * the book stayed thin while the position rode the fall — though the book takes a smaller piece. Now the next urgent
 * exit sells half the refused piece, halved again after each such refusal, at once (no backoff for a smaller piece),
 * and the rest goes in pieces of the size taken (symbol-decision.ts `depthRefusedPiece`).
 *
 * Real engine, real ccxt against the Bybit double (`setMarketDepth`), real clock; the protective backoff set to a
 * minute, so a halving that waited for it would not finish within the test.
 */
import { expect } from 'chai';
import { bybitKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type { EngineHarness } from '../../support/engine-harness';
import { closeAfterEach } from '../../support/close-after-each';
import {
  HELD_SYMBOL,
  startHeldSymbolDouble,
  startHoldingLiveEngine,
  tickUntil,
} from '../../support/live-engine';

const BTC = HELD_SYMBOL;
/** The most one market order may sell on the thin book: less than a third of the ~0.0333 BTC held. */
const DEPTH = 0.01;
/** BTC/USDT's amount step on the double. */
const STEP = 0.00001;
const onStep = (amount: number): number => Math.floor(amount / STEP + 1e-9) * STEP;
const A_MINUTE_BACKOFF = {
  risk: { stopLossPct: 2, takeProfitPct: 0 },
  orders: { protectiveRefusalBackoffMs: 60_000 },
};

describe('an urgent exit refused as too large for the book (Bybit 170198, real ccxt, Bybit double)', function () {
  this.timeout(60_000);
  let fake: FakeBybit | undefined;
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h, fake]);

  const position = (): number => h!.orderBook.positions()[BTC]?.amount ?? 0;
  const sells = () => fake!.trades(BTC).filter((t) => t.side === 'sell');
  const refusals = () =>
    h!.orderBook
      .hotOrders((o) => o.symbol === BTC && o.side === 'sell' && o.refused === true)
      .sort((a, b) => a.createdAt - b.createdAt);
  const state = () => ({
    position: position(),
    sells: sells().map((t) => t.qty),
    refused: refusals().map((o) => `${o.amount}: ${o.error}`),
  });

  async function holding(): Promise<number> {
    fake = (await startHeldSymbolDouble(bybitKit)) as FakeBybit;
    let bought: number;
    ({ h, bought } = await startHoldingLiveEngine(bybitKit, fake, A_MINUTE_BACKOFF));
    expect(bought).to.be.above(3 * DEPTH);
    fake.setMarketDepth(DEPTH);
    return bought;
  }

  it('a stop-loss refused 170198 sells the position in halved pieces, all of it, with no backoff wait', async () => {
    const bought = await holding();
    fake!.pinPrice(BTC, 58_000);
    const started = Date.now();
    await tickUntil(h!, () => h!.orderBook.openPositions().length === 0, 80, state);
    // far within the minute a backoff would have waited after the first refusal
    expect(Date.now() - started).to.be.below(30_000);
    const refused = refusals();
    // the whole holding, then its half: both above what the book takes, each the exchange's 170198
    expect(refused.map((o) => o.amount)).to.have.length(2);
    expect(refused[0].amount).to.be.closeTo(bought, 1e-5);
    expect(refused[1].amount).to.be.closeTo(refused[0].amount / 2, 1e-5);
    for (const o of refused)
      expect(o.error).to.match(/^bybit 170198: Your order quantity to sell is too large/);
    // the quarter taken, and the pieces after it no larger: the book stays thin
    const pieces = sells().map((t) => t.qty);
    expect(pieces.length).to.be.at.least(4);
    expect(pieces[0]).to.be.closeTo(refused[1].amount / 2, 1e-5);
    for (const qty of pieces) expect(qty).to.be.at.most(pieces[0] + 1e-12);
    // all of it sold (what is left is dust below one amount step: the buy's fee took 0.1 % of the coin), never more
    // than the bot's fills hold
    const sold = pieces.reduce((sum, qty) => sum + qty, 0);
    expect(sold).to.be.at.most(bought + 1e-12);
    expect(sold).to.be.closeTo(onStep(bought), 1e-9);
    expect(position())
      .to.be.closeTo(bought - sold, 1e-9)
      .and.below(STEP);
    expect(fake!.balance('BTC')).to.be.closeTo(bought - sold, 1e-9);
  });

  it('close-all refused 170198 halves its piece at once and sells the whole position in one close-all', async () => {
    const bought = await holding();
    const result = await h!.loop.closeAll();
    expect(result.skipped, JSON.stringify(state())).to.deep.equal([]);
    const refused = refusals();
    expect(refused.map((o) => o.purpose)).to.deep.equal(['close-all', 'close-all']);
    const pieces = sells().map((t) => t.qty);
    for (const qty of pieces) expect(qty).to.be.at.most(DEPTH);
    const sold = pieces.reduce((sum, qty) => sum + qty, 0);
    expect(sold).to.be.at.most(bought + 1e-12);
    expect(sold).to.be.closeTo(onStep(bought), 1e-9);
    await tickUntil(h!, () => h!.orderBook.openPositions().length === 0, 80, state);
    expect(position())
      .to.be.closeTo(bought - sold, 1e-9)
      .and.below(STEP);
  });
});
