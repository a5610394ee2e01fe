/**
 * Refusals ccxt classes as the API key's (AuthenticationError, PermissionDenied) that are about the account, its region
 * or the symbol: Bybit 170224 "You're not a user of the Innovation Zone.", 10024 "Compliance rules triggered"; OKX
 * 51733 "User is under risk control" (a per-order sCode). The effect stays a key refusal's (operational: entries
 * paused, exits keep running), the words are the true reason (profile `accountRefusals`): never "refuses the API key:
 * check EXCHANGE_API_KEY…", which sends the operator to replace a good key. Real ccxt against the doubles.
 */
import { expect } from 'chai';
import { OperationalError, type ByNinjaError } from '../../../src/shared/errors';
import { accountRefusedText } from '../../../src/trading/exchange/ccxt-exchange';
import type { CcxtExchange } from '../../../src/trading/exchange/ccxt-exchange';
import { refusalOf } from '../../../src/trading/engine/exchange-watch/exchange-health';
import { RET } from '../../../harness/exchanges/answers/bybit';
import { bybitKit, okxKit } from '../../../harness/exchanges/exchange-kits';
import type { FakeBybit } from '../../../harness/exchanges/fake-bybit';
import type { FakeOkx } from '../../../harness/exchanges/fake-okx';
import type { LocalExchange } from '../../../harness/exchanges/local-exchange';
import { closeAfterEach } from '../../support/close-after-each';
import { testCcxtExchange } from '../../support/live-engine';

const BTC = 'BTC/USDT';
const caught = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e as Error,
  );

describe("refusals that are the account's, not the API key's: told as what they are (real ccxt)", function () {
  this.timeout(20_000);
  let fake: LocalExchange | undefined;
  let exchange: CcxtExchange | undefined;
  closeAfterEach(() => [exchange, fake]);

  const buy = (id: string) =>
    exchange!.createOrder({ symbol: BTC, side: 'buy', type: 'market', amount: 0.001, clientOrderId: id });

  function expectAccountRefusal(err: Error, code: string, words: RegExp): void {
    expect(err, err.message).to.be.instanceOf(OperationalError);
    const context = (err as ByNinjaError).context;
    expect(context.keyRefused).to.equal(true);
    expect(context.accountRefused).to.equal(true);
    expect(refusalOf(err)).to.equal('account');
    expect(err.message).to.include(`refuses the account's requests (code ${code}, not the API key)`);
    expect(err.message).to.match(words);
    expect(err.message).not.to.match(/refuses the API key|EXCHANGE_API_KEY/);
  }

  it('Bybit 170224 (Innovation Zone) on a create and 10024 (compliance) on a read', async () => {
    const bybit = (await bybitKit.start({ balances: { USDT: 10_000 } })) as FakeBybit;
    fake = bybit;
    exchange = await testCcxtExchange(bybitKit, bybit.url);
    await exchange.loadMarkets();
    const now = Date.now();
    const envelope = (ret: { retCode: number; retMsg: string }) => ({
      ...ret,
      result: {},
      retExtInfo: {},
      time: now,
    });
    bybit.faults.next('createOrder', { kind: 'answer', status: 200, body: envelope(RET.innovationZone) });
    expectAccountRefusal(await caught(buy('iz0')), '170224', /Innovation Zone.*join it on Bybit/);
    expect(bybit.orderClientIds()).to.deep.equal([]);
    bybit.faults.next('balance', { kind: 'answer', status: 200, body: envelope(RET.complianceRules) });
    expectAccountRefusal(await caught(exchange.fetchBalance()), '10024', /compliance rules/);
    // the key's own refusal is still told as the key's
    bybit.faults.next('balance', { kind: 'answer', status: 401, body: envelope(RET.apiKeyInvalid) });
    const key = await caught(exchange.fetchBalance());
    expect(refusalOf(key)).to.equal('key');
    expect(key.message).to.include('bybit refuses the API key: check EXCHANGE_API_KEY');
  });

  it("OKX 51733 (risk control) in a create's per-order sCode", async () => {
    const okx = (await okxKit.start({ balances: { USDT: 10_000 } })) as FakeOkx;
    fake = okx;
    exchange = await testCcxtExchange(okxKit, okx.url);
    await exchange.loadMarkets();
    okx.faults.next('createOrder', {
      kind: 'order-refused',
      sCode: '51733',
      sMsg: 'User is under risk control',
    });
    expectAccountRefusal(await caught(buy('rc0')), '51733', /risk control/);
  });

  it('names only the codes the profile lists, by own key (accountRefusedText)', () => {
    const reasons = { '10024': 'compliance' };
    expect(accountRefusedText('bybit', '10024', reasons)).to.equal(
      "bybit refuses the account's requests (code 10024, not the API key): compliance",
    );
    expect(accountRefusedText('bybit', '10003', reasons)).to.equal(undefined);
    expect(accountRefusedText('bybit', 'constructor', reasons)).to.equal(undefined);
    expect(accountRefusedText('bybit', undefined, reasons)).to.equal(undefined);
  });
});
