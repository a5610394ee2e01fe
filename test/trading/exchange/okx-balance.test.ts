/**
 * OKX's balance per account mode (Trading account, "Get balance"): `availEq` ("Available equity of currency") is
 * answered only in Futures mode / Multi-currency margin / Portfolio margin (acctLv 2–4), and ccxt takes it for free
 * wherever it is set — equity, which counts a currency's unrealized P&L of margin and derivatives positions, and
 * which in Multi-currency margin / Portfolio margin a sell of more than the coin held borrows against. The bot sells
 * only the coin held (`cashBal`, `availBal`): profiles/okx-balance.ts. Real ccxt against the OKX double, which
 * answers each mode's fields as documented.
 */
import { expect } from 'chai';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { okxSpotBalance } from '../../../src/trading/exchange/profiles/okx-balance';
import { okxKit } from '../../../harness/exchanges/exchange-kits';
import { FakeOkx } from '../../../harness/exchanges/fake-okx';
import { closeAfterEach } from '../../support/close-after-each';
import { kitCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';

describe("OKX balance by account mode: what a spot sell may take is the coin held, never ccxt's availEq", function () {
  this.timeout(30_000);
  let fake: FakeOkx | undefined;
  let exchange: CcxtExchange | undefined;

  closeAfterEach(() => [exchange, fake]);

  for (const acctLv of ['1', '2', '3', '4'] as const) {
    it(`acctLv ${acctLv}: free is the BTC held and not frozen, total the BTC held, whatever the equity says`, async () => {
      fake = await FakeOkx.start({
        apiKey: okxKit.credentials.apiKey,
        secret: okxKit.credentials.secret,
        passphrase: okxKit.credentials.password,
        balances: { USDT: 10_000, BTC: 2 },
        acctLv,
      });
      // a profitable BTC-margined position: 0.5 BTC of equity the account does not hold as coin (counted above Spot mode)
      fake.upl.set('BTC', 0.5);
      exchange = await kitCcxtExchange(okxKit, fake.url, { timeoutMs: 5_000 });
      // a resting sell freezes 0.3 BTC
      await exchange.createOrder({
        symbol: BTC,
        side: 'sell',
        type: 'limit',
        amount: 0.3,
        price: 1_000_000,
        clientOrderId: `bal${acctLv}`,
      });
      const balance = await exchange.fetchBalance();
      expect(balance.BTC.free).to.be.closeTo(1.7, 1e-9);
      expect(balance.BTC.used).to.be.closeTo(0.3, 1e-9);
      expect(balance.BTC.total).to.be.closeTo(2, 1e-9);
      expect(balance.USDT).to.deep.equal({ free: 10_000, used: 0, total: 10_000 });
    });
  }

  it('reads the documented answer: availBal never above cashBal, a borrowed coin (negative cashBal) as none, ccxt for anything else', () => {
    const answer = (details: unknown[]) => ({ code: '0', data: [{ details, totalEq: '1', uTime: '1' }] });
    expect(
      okxSpotBalance(
        answer([
          { ccy: 'BTC', cashBal: '1', availBal: '1.5', availEq: '3', eq: '3', frozenBal: '0' },
          { ccy: 'ETH', cashBal: '-2', availBal: '0', availEq: '5', eq: '-1', frozenBal: '0', liab: '2' },
          { ccy: 'SOL', cashBal: '4', availBal: '', frozenBal: '1' },
          { ccy: 'XRP', cashBal: '' },
        ]),
      ),
    ).to.deep.equal({
      BTC: { free: 1, used: 0, total: 1 },
      ETH: { free: 0, used: 0, total: 0 },
      // no availBal: the cash held less what is frozen
      SOL: { free: 3, used: 1, total: 4 },
    });
    expect(okxSpotBalance({ code: '0', data: [] })).to.equal(undefined);
    expect(okxSpotBalance(undefined)).to.equal(undefined);
  });
});
