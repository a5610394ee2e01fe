/**
 * ccxt's implicit REST methods named from the build's record (ccxt-rest-names.ts): for each verified exchange, real
 * ccxt (its ES module), an instance with the recorded names against one ccxt named itself — the same properties in
 * the same order, and every endpoint method making the same call.
 */
import { expect } from 'chai';
import { loadCcxtClass } from '../../../src/trading/exchange/ccxt-exchange';
import {
  constructWithRestNames,
  recordRestNames,
  type RestNameRow,
} from '../../../src/trading/exchange/ccxt-rest-names';
import { EXCHANGE_PROFILES, verifiedExchangeIds } from '../../../src/trading/exchange/profiles';

type Instance = Record<string, unknown>;
type Ctor = new (config: Record<string, unknown>) => object;

function config(id: string): Record<string, unknown> {
  return {
    apiKey: 'k',
    secret: 's',
    password: 'p',
    options: { defaultType: 'spot', ...EXCHANGE_PROFILES[id].ccxtOptions },
  };
}

const construct = (C: Ctor, id: string): Instance => new C(config(id)) as Instance;
const constructNamed = (C: Ctor, rows: readonly RestNameRow[], id: string): Instance =>
  constructWithRestNames(C, rows, config(id)) as Instance;

/** What each endpoint method of `instance` asks ccxt's `request` (its implicit methods' one way out). */
async function endpointCalls(instance: Instance, rows: readonly RestNameRow[]): Promise<unknown[]> {
  const calls: unknown[] = [];
  instance.request = (...args: unknown[]) => {
    calls.push(args);
    return Promise.resolve(undefined);
  };
  for (const row of rows) {
    for (const name of [row[4], row[5]]) {
      await (instance[name] as (params: unknown, context: unknown) => Promise<unknown>)(
        { p: name },
        { c: 1 },
      );
      // and without arguments: ccxt's defaults ({}, {})
      await (instance[name] as () => Promise<unknown>)();
    }
  }
  return calls;
}

describe("ccxt's implicit REST methods named at build time (real ccxt)", function () {
  this.timeout(60_000);

  for (const id of verifiedExchangeIds()) {
    it(`${id}: the same properties in the same order, each endpoint making the same call as ccxt's own`, async () => {
      const { Ctor } = await loadCcxtClass(id);
      const rows = recordRestNames(Ctor);
      expect(rows.length).to.be.above(100);
      const own = construct(Ctor, id);
      const named = constructNamed(Ctor, rows, id);
      expect(Object.keys(named)).to.deep.equal(Object.keys(own));
      expect(await endpointCalls(named, rows)).to.deep.equal(await endpointCalls(own, rows));
    });
  }

  it('takes the names from the record (the build, not each start, works them out)', async () => {
    const { Ctor } = await loadCcxtClass('binance');
    const rows = recordRestNames(Ctor).map((row): RestNameRow => [
      row[0],
      row[1],
      row[2],
      row[3],
      `${row[4]}Recorded`,
      `${row[5]}_recorded`,
    ]);
    const named = constructNamed(Ctor, rows, 'binance');
    expect(named.publicGetExchangeInfoRecorded).to.be.a('function');
    expect(named.publicGetExchangeInfo).to.equal(undefined);
    // for that construction only: ccxt's own definition is back
    expect(construct(Ctor, 'binance').publicGetExchangeInfo).to.be.a('function');
  });

  it('leaves an endpoint the record does not match, and every later one, to ccxt', async () => {
    const { Ctor } = await loadCcxtClass('binance');
    const recorded = recordRestNames(Ctor);
    const at = Math.floor(recorded.length / 2);
    // a record of another ccxt: one endpoint's path differs, the names after it are not this ccxt's
    const rows = recorded.map((row, i): RestNameRow =>
      i < at
        ? row
        : [row[0], row[1], i === at ? `${row[2]}/moved` : row[2], row[3], `${row[4]}Other`, row[5]],
    );
    const own = construct(Ctor, 'binance');
    const named = constructNamed(Ctor, rows, 'binance');
    expect(Object.keys(named)).to.deep.equal(Object.keys(own));
    expect(await endpointCalls(named, recorded)).to.deep.equal(await endpointCalls(own, recorded));
  });
});
