import { expect } from 'chai';
import { NetworkError } from '../../../src/shared/errors';
import { settleInFlight } from '../../../src/trading/engine/tick/in-flight-settle';
import { OnceLog } from '../../../src/trading/engine/log-once';
import type { OrderStatus } from '../../../src/shared/domain/order';
import { SymbolLanes } from '../../../src/trading/engine/symbol-lanes';
import { captureLogger } from '../../support/capture-logger';

interface FakeOrder {
  clientOrderId: string;
  symbol: string;
  status: OrderStatus;
}

/** The order manager's two calls the settle makes: `refresh` settles an order (or fails as told). */
function manager(orders: FakeOrder[], fail: Record<string, Error> = {}) {
  const refreshed: string[] = [];
  return {
    refreshed,
    pendingOrders: (symbol?: string) =>
      orders.filter((o) => (!symbol || o.symbol === symbol) && o.status !== 'filled') as never[],
    refresh: (id: string): Promise<{ from: OrderStatus; to: OrderStatus }> => {
      refreshed.push(id);
      if (fail[id]) return Promise.reject(fail[id]);
      const order = orders.find((o) => o.clientOrderId === id)!;
      const from = order.status;
      order.status = 'filled';
      return Promise.resolve({ from, to: order.status });
    },
  };
}

function setup() {
  const { logger, lines } = captureLogger();
  return { lanes: new SymbolLanes(), onceLog: new OnceLog(logger), lines };
}

describe('settleInFlight: the orders in flight synced before a settled account reading', () => {
  it('syncs every order of every symbol: settled', async () => {
    const { lanes, onceLog } = setup();
    const m = manager([
      { clientOrderId: 'a', symbol: 'BTC/USDT', status: 'open' },
      { clientOrderId: 'b', symbol: 'ETH/USDT', status: 'unknown' },
    ]);
    expect(await settleInFlight(m, lanes, onceLog)).to.equal(true);
    expect(m.refreshed.sort()).to.deep.equal(['a', 'b']);
  });

  it('an order the exchange fails: every other still tried, not settled', async () => {
    const { lanes, onceLog, lines } = setup();
    const m = manager(
      [
        { clientOrderId: 'a', symbol: 'BTC/USDT', status: 'open' },
        { clientOrderId: 'b', symbol: 'BTC/USDT', status: 'open' },
      ],
      { a: new NetworkError('ECONNRESET') },
    );
    expect(await settleInFlight(m, lanes, onceLog)).to.equal(false);
    expect(m.refreshed).to.deep.equal(['a', 'b']);
    expect(lines.map((l) => l.message)).to.include(
      'Could not sync the orders in flight before reading the account',
    );
  });

  it('a symbol still busy is not synced twice at once: not settled', async () => {
    const { lanes, onceLog, lines } = setup();
    lanes.run(['BTC/USDT'], () => new Promise<void>(() => {}));
    const m = manager([
      { clientOrderId: 'a', symbol: 'BTC/USDT', status: 'open' },
      { clientOrderId: 'b', symbol: 'ETH/USDT', status: 'open' },
    ]);
    expect(await settleInFlight(m, lanes, onceLog)).to.equal(false);
    expect(m.refreshed).to.deep.equal(['b']);
    expect(lines.find((l) => l.message.startsWith('A symbol still busy')))
      .to.have.property('symbols')
      .that.deep.equals(['BTC/USDT']);
  });

  it('an order still unknown after its lookup: not settled', async () => {
    const { lanes, onceLog } = setup();
    const stays = manager([{ clientOrderId: 'a', symbol: 'BTC/USDT', status: 'unknown' }]);
    stays.refresh = (id: string) => {
      stays.refreshed.push(id);
      return Promise.resolve({ from: 'unknown' as OrderStatus, to: 'unknown' as OrderStatus });
    };
    expect(await settleInFlight(stays, lanes, onceLog)).to.equal(false);
  });

  it('an error that is not ours is a bug: thrown', async () => {
    const { lanes, onceLog } = setup();
    const bug = new TypeError('x is undefined');
    const m = manager([{ clientOrderId: 'a', symbol: 'BTC/USDT', status: 'open' }], { a: bug });
    let thrown: unknown;
    await settleInFlight(m, lanes, onceLog).catch((err: unknown) => (thrown = err));
    expect(thrown).to.equal(bug);
  });
});
