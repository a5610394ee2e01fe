/**
 * Bybit refuses a request's timestamp in two places (error.mdx, UTA): its gateway, outside [server_time − recv_window,
 * server_time + 1000) — 10002, ccxt's InvalidNonce — and its trade service, which drops a create whose timestamp is
 * older than recv_window when it takes it up — -1 "request expired: o@0, now[] diff[]", ccxt's bare ExchangeError. A
 * host clock a little behind Bybit's passes the gateway and meets the second: before the fix that never measured the
 * offset, and every create was dropped again until the hourly measurement. Real ccxt against the Bybit double.
 */
import { expect } from 'chai';
import { NetworkError } from '../../../src/shared/errors';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import type { ClockSkew } from '../../../src/trading/exchange/exchange';
import { refusedForTime } from '../../../src/trading/exchange/clock-skew';
import { bybitKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import { closeAfterEach } from '../../support/close-after-each';
import { kitCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';

describe('Bybit -1 "request expired" (the trade service drops a create past its recv_window): the clock offset is measured', function () {
  this.timeout(30_000);
  let fake: FakeBybit | undefined;
  let exchange: CcxtExchange | undefined;

  closeAfterEach(() => [exchange, fake]);

  it('a create dropped -1 measures the offset (its outcome still looked up); the next create is taken', async () => {
    fake = (await bybitKit.start({ candleMs: 300, balances: { USDT: 20_000 } })) as FakeBybit;
    exchange = await kitCcxtExchange(bybitKit, fake.url, { timeoutMs: 5_000 });
    await exchange.loadMarkets();
    const skews: ClockSkew[] = [];
    exchange.onClockSkew((s) => skews.push(s));
    // the host 4.5 s behind Bybit: inside the gateway's 5 s window, past it 1 s later at the trade service
    fake.clockSkewMs = 4_500;
    fake.tradeServiceLagMs = 1_000;
    const create = (id: string) =>
      exchange!.createOrder({ symbol: BTC, side: 'buy', type: 'market', amount: 0.001, clientOrderId: id });
    let dropped: unknown;
    await create('exp0').catch((err: unknown) => (dropped = err));
    // nothing in the docs says the create was not carried out: looked up, never assumed refused
    expect(dropped).to.be.instanceOf(NetworkError);
    expect((dropped as Error).message).to.match(/request expired/);
    expect(fake.orderClientIds()).to.deep.equal([]);
    // measured on the refusal, alerted with it
    expect(skews).to.have.length(1);
    expect(skews[0].offsetMs).to.be.closeTo(-4_500, 1_000);
    expect(skews[0].refusal).to.match(/-1/);
    const taken = await create('exp1');
    expect(taken.clientOrderId).to.equal('exp1');
    expect(fake.orderClientIds()).to.deep.equal(['exp1']);
  });

  it("reads a timestamp refusal from ccxt's class or the profile's codes (refusedForTime)", () => {
    expect(refusedForTime({ name: 'InvalidNonce' })).to.equal(true);
    expect(refusedForTime({ name: 'ExchangeError', exchangeCode: '-1' }, ['-1'])).to.equal(true);
    expect(refusedForTime({ name: 'ExchangeError', exchangeCode: '-1' })).to.equal(false);
    expect(refusedForTime({ name: 'ExchangeError', exchangeCode: '10016' }, ['-1'])).to.equal(false);
    expect(refusedForTime(undefined, ['-1'])).to.equal(false);
  });
});
