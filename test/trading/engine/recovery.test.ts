import { expect } from 'chai';
import type { LocalOrder } from '../../../src/trading/engine/orders/order-state';
import type { Exchange } from '../../../src/trading/exchange/exchange';
import type { PaperExchange } from '../../../src/trading/exchange/paper-exchange';
import { EngineHarness, MARKET_BUY, intent } from '../../support/engine-harness';
import { callsTo, recordCalls, withOverrides, type RecordedCall } from '../../support/exchange-overrides';
import { FAKE_CLOCK_START } from '../../support/fake-clock';
import { closeAfterEach } from '../../support/close-after-each';

const LAST_EXIT = { kind: 'crash' as const, reason: 'test' };

/** A limit buy far below the market, straight on the paper exchange (as if placed by a run state forgot). */
async function restingBuy(h: EngineHarness, clientOrderId: string): Promise<void> {
  const price = (await h.paper.fetchTicker('BTC/USDT')).last;
  await h.paper.createOrder({ ...MARKET_BUY, type: 'limit', price: Math.round(price * 0.5), clientOrderId });
}

describe('startup recovery against the paper exchange (integration)', function () {
  this.timeout(20_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  async function withIntent(seq: number, order: LocalOrder): Promise<void> {
    await h!.files.store.commit((d) => {
      d.seq = seq;
      d.orders[order.clientOrderId] = order;
    });
  }

  it('marks an intent that never reached the exchange rejected (never placed)', async () => {
    h = await EngineHarness.open();
    await withIntent(1, intent('bot-1'));
    h = await h.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    expect(summary.resolvedUnknown).to.deep.equal([{ clientOrderId: 'bot-1', found: false }]);
    expect(summary.changedWhileDown).to.deep.equal([
      { clientOrderId: 'bot-1', from: 'intent', to: 'rejected' },
    ]);
    expect(h.orderBook.order('bot-1')!.status).to.equal('rejected');
    expect(Object.values(h.paperFile().orders)).to.have.length(0);
    const event = h.events.find((e) => e.type === 'recovery');
    expect(event?.data).to.deep.include({
      lastExit: LAST_EXIT,
      resolvedUnknown: [{ clientOrderId: 'bot-1', found: false }],
    });
  });

  it("adopts the exchange's answer for an intent whose create reached the exchange before the crash", async () => {
    h = await EngineHarness.open();
    await withIntent(1, intent('bot-1'));
    await h.paper.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.001,
      clientOrderId: 'bot-1',
    });
    h = await h.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    expect(summary.resolvedUnknown).to.deep.equal([{ clientOrderId: 'bot-1', found: true }]);
    expect(summary.newFills).to.equal(1);
    expect(summary.restoredPositions).to.equal(1);
    // counted before (the intent) and after (filled: no longer open)
    expect(summary).to.include({ restoredOrders: 1, openOrders: 0 });
    const order = h.orderBook.order('bot-1')!;
    expect(order).to.include({ status: 'filled', filled: 0.001 });
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(h.paperFile().balances.BTC.free);
  });

  it('fetches the fills of an order acknowledged as filled whose fills were not saved', async () => {
    h = await EngineHarness.open();
    const placed = await h.paper.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.002,
      clientOrderId: 'bot-1',
    });
    await withIntent(
      1,
      intent('bot-1', { status: 'filled', exchangeOrderId: placed.id, filled: 0.002, amount: 0.002 }),
    );
    h = await h.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    expect(summary.newFills).to.be.greaterThan(0);
    expect(summary.changedWhileDown).to.deep.equal([]);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(0.002);
  });

  it('adopts an open order of ours that state does not know, and never reuses its seq', async () => {
    h = await EngineHarness.open();
    await restingBuy(h, 'bot-9');
    await restingBuy(h, 'someoneelse-1');
    h = await h.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    expect(summary.adopted).to.deep.equal(['bot-9']);
    expect(h.orderBook.order('bot-9')).to.include({ status: 'open', purpose: 'adopted' });
    expect(h.orderBook.order('someoneelse-1')).to.equal(undefined);
    expect(h.stateFile().seq).to.equal(9);
    h.manager.startAccepting();
    const next = await h.manager.place(MARKET_BUY);
    // bot-9 has the id form sent before install ids: its seq still bounds this install's ids
    expect(next.clientOrderId).to.equal('bot-tst000-10');
  });

  it('adopts a newer order the recent list showed open that finished before the open list was read', async () => {
    h = await EngineHarness.open();
    // sent by a run whose state was lost (the state is behind: seq 0), resting on the exchange
    await restingBuy(h, 'bot-tst000-9');
    // the open-orders list no longer has it: it filled or was cancelled between the two reads
    const openListWithout = (paper: PaperExchange): Exchange =>
      withOverrides(paper, { fetchOpenOrders: () => Promise.resolve([]) });
    h = await h.restart({ wrapExchange: openListWithout });
    const summary = await h.loop.recover(LAST_EXIT);
    // dropped before: neither finished in the recent list nor listed open — its fills a position nobody knew of
    expect(summary.adopted).to.deep.equal(['bot-tst000-9']);
    expect(h.orderBook.order('bot-tst000-9')).to.include({ purpose: 'adopted' });
    expect(summary.seqRaisedFromExchange).to.equal(9);
  });

  it('cancels such an order instead when orders.unknownOnStart is cancel', async () => {
    h = await EngineHarness.open({ config: { trading: { orders: { unknownOnStart: 'cancel' } } } });
    await restingBuy(h, 'bot-4');
    h = await h.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    expect(summary.cancelledUnknown).to.deep.equal(['bot-4']);
    expect(h.orderBook.order('bot-4')!.status).to.equal('cancelled');
    expect(Object.values(h.paperFile().orders).find((o) => o.clientOrderId === 'bot-4')!.status).to.equal(
      'canceled',
    );
  });

  it('takes back an order declared never placed when the exchange has it after all, and counts its fills', async () => {
    h = await EngineHarness.open();
    // a previous run looked bot-1 up, found nothing and declared it never placed; its create then arrived late
    await withIntent(
      1,
      intent('bot-1', { status: 'rejected', error: 'the exchange has no such order: never placed' }),
    );
    await h.paper.createOrder({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.001,
      clientOrderId: 'bot-1',
    });
    h = await h.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    expect(h.orderBook.order('bot-1')).to.include({ status: 'filled', filled: 0.001 });
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(h.paperFile().balances.BTC.free);
    expect(summary.changedWhileDown).to.deep.equal([
      { clientOrderId: 'bot-1', from: 'rejected', to: 'filled' },
    ]);
    expect(h.stateFile().orders['bot-1'].status).to.equal('filled');
  });

  it('keeps looking up an order declared never placed while running (kept hot meanwhile), and takes it back', async () => {
    h = await EngineHarness.open({ recentFinalKept: 0 });
    await withIntent(
      1,
      intent('bot-1', { status: 'rejected', error: 'the exchange has no such order: never placed' }),
    );
    await withIntent(2, intent('bot-2', { status: 'rejected', refused: true, error: 'insufficient funds' }));
    h = await h.restart({ recentFinalKept: 0 });
    await h.loop.recover(LAST_EXIT);
    h.loop.enterRunning();
    // the exchange's refusal is final and goes to the journal; our own inference stays hot to be looked up again
    expect(h.stateFile().orders['bot-2']).to.equal(undefined);
    expect(h.stateFile().orders['bot-1'].status).to.equal('rejected');
    // its create arrives late (the exchange's reads lagged)
    await h.paper.createOrder({ ...MARKET_BUY, clientOrderId: 'bot-1' });
    await h.loop.tick();
    // not before its turn: recovery's lookup was the first, the second waits twice the not-found window (100 ms)
    expect(h.orderBook.order('bot-1')!.status).to.equal('rejected');
    await h.fakeClock().advance(150);
    await h.loop.tick();
    expect(h.orderBook.order('bot-1')!.status).to.equal('rejected');
    await h.fakeClock().advance(100);
    await h.loop.tick();
    // taken back, filled, and archived with its fills folded into the position (nothing keeps it hot now)
    const taken = (await h.orderBook.allOrders()).find((o) => o.clientOrderId === 'bot-1');
    expect(taken).to.include({ status: 'filled', purpose: 'entry' });
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.equal(h.paperFile().balances.BTC.free);
    expect(h.eventTypes()).to.include('order.taken_back');
  });

  it('looks an order declared never placed up no more a day after the verdict, and archives it', async () => {
    let lookups = 0;
    const counted = (paper: Exchange): Exchange =>
      withOverrides(paper, {
        fetchOrderByClientId: (...args) => {
          lookups++;
          return paper.fetchOrderByClientId(...args);
        },
      });
    h = await EngineHarness.open({ recentFinalKept: 0, wrapExchange: counted });
    const dayAgo = FAKE_CLOCK_START - 24 * 3_600_000 - 1;
    await withIntent(1, intent('bot-1', { status: 'rejected', error: 'never placed', updatedAt: dayAgo }));
    h = await h.restart({ recentFinalKept: 0, wrapExchange: counted });
    const summary = await h.loop.recover(LAST_EXIT);
    expect(lookups).to.equal(0);
    expect(summary.changedWhileDown).to.deep.equal([]);
    expect(h.stateFile().orders['bot-1']).to.equal(undefined);
  });

  it("takes back an order declared never placed over a day ago that the exchange's recent orders show filled", async () => {
    h = await EngineHarness.open({ recentFinalKept: 0 });
    const dayAgo = FAKE_CLOCK_START - 24 * 3_600_000 - 1;
    await withIntent(1, intent('bot-1', { status: 'rejected', error: 'never placed', updatedAt: dayAgo }));
    await h.paper.createOrder({ ...MARKET_BUY, clientOrderId: 'bot-1' });
    h = await h.restart({ recentFinalKept: 0 });
    const summary = await h.loop.recover(LAST_EXIT);
    // past the lookups' horizon, but the read every start makes shows it: a position nobody would have known of
    expect(summary.changedWhileDown).to.deep.equal([
      { clientOrderId: 'bot-1', from: 'rejected', to: 'filled' },
    ]);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.greaterThan(0);
  });

  it('leaves an order the exchange refused, or one it confirms absent, as rejected', async () => {
    h = await EngineHarness.open();
    await withIntent(2, intent('bot-1', { status: 'rejected', refused: true, error: 'insufficient funds' }));
    await withIntent(2, intent('bot-2', { status: 'rejected', error: 'never placed' }));
    h = await h.restart();
    const summary = await h.loop.recover(LAST_EXIT);
    expect(h.orderBook.order('bot-1')!.status).to.equal('rejected');
    expect(h.orderBook.order('bot-2')!.status).to.equal('rejected');
    expect(summary.changedWhileDown).to.deep.equal([]);
  });

  it('never hands out a clientOrderId already in the history when the hot state fell behind it', async () => {
    h = await EngineHarness.open();
    // history knows bot-7 (sent and archived), but the hot state says seq 2: restored from an older generation
    const archived = intent('bot-7', { status: 'filled', exchangeOrderId: 'x-7' });
    await h.files.history.append([{ kind: 'order', archivedAt: h.clock.now(), order: archived }]);
    await h.files.store.commit((d) => {
      d.seq = 2;
    });
    h = await h.restart();
    await h.loop.recover(LAST_EXIT);
    expect(h.files.store.data.seq).to.equal(7);
  });

  it('finds the history bound from the last archived entry: archive records the seq, recovery reads one line', async () => {
    h = await EngineHarness.open({ recentFinalKept: 0 });
    h.manager.startAccepting();
    for (let i = 0; i < 3; i++) await h.manager.place(MARKET_BUY);
    expect(await h.manager.archive()).to.equal(3);
    const [last] = await h.files.history.tail(1);
    expect(last.seq).to.equal(3);
    // the hot state is lost (deleted by hand): it restarts from seq 0
    await h.files.store.commit((d) => {
      d.seq = 0;
      d.orders = {};
    });
    h = await h.restart();
    await h.loop.recover(LAST_EXIT);
    expect(h.files.store.data.seq).to.equal(3);
  });

  it('applies what happened to an open order while trading was down', async () => {
    h = await EngineHarness.open();
    h.manager.startAccepting();
    const price = (await h.paper.fetchTicker('BTC/USDT')).last;
    await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.001,
      price: Math.round(price * 0.5),
      purpose: 'entry',
    });
    expect(h.orderBook.order('bot-tst000-1')!.status).to.equal('open');
    const exchangeId = h.orderBook.order('bot-tst000-1')!.exchangeOrderId!;
    // cancelled on the exchange while the bot is down
    await h.paper.cancelOrder(exchangeId, 'BTC/USDT');
    h = await h.restart();
    const summary = await h.loop.recover({ kind: 'killed' });
    expect(summary.changedWhileDown).to.deep.equal([
      { clientOrderId: 'bot-tst000-1', from: 'open', to: 'cancelled' },
    ]);
    expect(h.eventTypes()).to.include('order.cancelled');
  });
});

describe('startup recovery with many open orders (integration)', function () {
  this.timeout(30_000);
  let h: EngineHarness | undefined;
  closeAfterEach(() => [h]);

  it('answers open orders from one fetchOpenOrders of all symbols, fetching only the orders no longer open and missing fills', async () => {
    const symbols = ['BTC/USDT', 'ETH/USDT'];
    const perSymbol = 20;
    const config = { trading: { symbols, paper: { startingBalances: { USDT: 1_000_000 } } } };
    h = await EngineHarness.open({ config });
    h.manager.startAccepting();
    for (const symbol of symbols) {
      const price = (await h.paper.fetchTicker(symbol)).last;
      for (let i = 0; i < perSymbol; i++) {
        await h.manager.place({
          symbol,
          side: 'buy',
          type: 'limit',
          amount: symbol === 'BTC/USDT' ? 0.001 : 0.01,
          price: Math.round(price * 0.5),
          purpose: 'entry',
        });
      }
    }
    // a marketable limit far above the partial-fill notional: it fills one slice per 100 ms candle for seconds,
    // so it is still open (with more filled) when recovery runs
    const btcAsk = (await h.paper.fetchTicker('BTC/USDT')).ask;
    const big = await h.manager.place({
      symbol: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 5,
      price: Math.round(btcAsk * 1.1),
      purpose: 'entry',
    });
    expect(big.status).to.equal('partially_filled');
    const bigId = big.clientOrderId;
    const filledBefore = h.orderBook.order(bigId)!.filled;
    // crash between committing its status and committing its fills: the fills are missing locally
    await h.files.store.commit((d) => {
      d.orders[bigId] = { ...d.orders[bigId], fills: [] };
    });
    // cancelled on the exchange while the bot is down
    const cancelled = h.orderBook.pendingOrders('ETH/USDT')[0];
    await h.paper.cancelOrder(cancelled.exchangeOrderId!, 'ETH/USDT');

    await h.fakeClock().advance(300, 100); // down for three candles: the big order fills more meanwhile
    let calls: RecordedCall[] = [];
    h = await h.restart({
      wrapExchange: (paper) => {
        const recorded = recordCalls(paper);
        calls = recorded.calls;
        return recorded.exchange;
      },
    });
    calls.length = 0; // count recovery only, not the harness's own start-up (loadMarkets)
    const summary = await h.loop.recover(LAST_EXIT);

    const openCalls = callsTo(calls, 'fetchOpenOrders').map((c) => c.args[0]);
    // one list of all symbols answers for the live orders and for the orders state does not know
    expect(openCalls).to.deep.equal([undefined]);
    // only the order that is no longer open is fetched on its own
    expect(callsTo(calls, 'fetchOrder').map((c) => c.args[0])).to.deep.equal([cancelled.exchangeOrderId]);
    expect(callsTo(calls, 'fetchOrderByClientId')).to.have.length(0);

    expect(summary.changedWhileDown).to.deep.equal([
      { clientOrderId: cancelled.clientOrderId, from: 'open', to: 'cancelled' },
    ]);
    const resting = h.orderBook.hotOrders().filter((o) => o.clientOrderId !== bigId);
    expect(resting.filter((o) => o.status === 'open')).to.have.length(2 * perSymbol - 1);
    // the open order whose fills were lost (and which filled more while down) has all its fills again
    const bigAfter = h.orderBook.order(bigId)!;
    expect(bigAfter.status).to.equal('partially_filled');
    expect(bigAfter.filled).to.be.at.least(filledBefore);
    expect(bigAfter.fills.reduce((s, f) => s + f.amount, 0)).to.be.closeTo(bigAfter.filled, 1e-9);
    expect(summary.newFills).to.equal(bigAfter.fills.length);
    expect(h.orderBook.positions()['BTC/USDT'].amount).to.be.closeTo(bigAfter.filled, 1e-9);
  });
});
