import { expect } from 'chai';
import { NetworkError, PermissionDeniedError } from '../../../src/shared/errors';
import type { TradingEventType } from '../../../src/shared/ipc/protocol';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { EventOutbox } from '../../../src/trading/engine/state/event-outbox';
import { ExchangeHealth } from '../../../src/trading/engine/exchange-watch/exchange-health';
import { OnceLog } from '../../../src/trading/engine/log-once';
import { FakeClock } from '../../support/fake-clock';

function health() {
  const clock = new FakeClock();
  const emitted: Array<{ type: TradingEventType; summary: string }> = [];
  const outbox = {
    emit: (type: TradingEventType, summary: string) => {
      emitted.push({ type, summary });
      return Promise.resolve(true);
    },
  } as unknown as EventOutbox;
  const logger = silentLogger();
  const h = new ExchangeHealth({
    exchangeId: 'bybit',
    outbox,
    clock,
    logger,
    onceLog: new OnceLog(logger),
    alertAfterMs: 30_000,
  });
  return { h, clock, emitted };
}

const REFUSED = 'bybit refuses the API key: check EXCHANGE_API_KEY and EXCHANGE_SECRET in .env (bybit 10003)';

describe('ExchangeHealth: an outage and a refused key told apart', () => {
  it('a refused key (the adapter names it: keyRefused) is alerted as that, naming the fix, not "unreachable"', async () => {
    const { h, clock, emitted } = health();
    const err = (): PermissionDeniedError => new PermissionDeniedError(REFUSED, { keyRefused: true });
    await h.failed(err());
    expect(h.reachable).to.equal(false);
    expect(h.keyRefused).to.equal(true);
    clock.time = clock.time + 30_000;
    await h.failed(err());
    expect(emitted).to.deep.equal([
      {
        type: 'exchange.key_refused',
        summary: `Exchange bybit has refused the API key for 30 s: ${REFUSED}`,
      },
    ]);
  });

  it('a network failure is an outage ("unreachable"); the key is no longer said refused once another failure comes', async () => {
    const { h, clock, emitted } = health();
    await h.failed(new PermissionDeniedError(REFUSED, { keyRefused: true }));
    await h.failed(new NetworkError('ECONNREFUSED'));
    expect(h.keyRefused).to.equal(false);
    clock.time = clock.time + 30_000;
    await h.failed(new NetworkError('ECONNREFUSED'));
    expect(emitted).to.deep.equal([
      { type: 'exchange.unreachable', summary: 'Exchange bybit unreachable for 30 s: ECONNREFUSED' },
    ]);
    await h.answered();
    expect(h.keyRefused).to.equal(false);
  });

  it("an account's refusal (the adapter names it: accountRefused) is alerted as the account's, never the key's", async () => {
    const { h, clock, emitted } = health();
    const ACCOUNT =
      "bybit refuses the account's requests (code 10024, not the API key): Bybit's compliance rules refuse the account";
    const err = (): PermissionDeniedError =>
      new PermissionDeniedError(ACCOUNT, { keyRefused: true, accountRefused: true });
    await h.failed(err());
    expect(h.keyRefused).to.equal(true);
    expect(h.accountRefused).to.equal(true);
    clock.time = clock.time + 30_000;
    await h.failed(err());
    expect(emitted).to.deep.equal([
      {
        type: 'exchange.key_refused',
        summary: `Exchange bybit has refused the account's requests for 30 s: ${ACCOUNT}`,
      },
    ]);
    // the key's own refusal next: told as the key's again
    await h.failed(new PermissionDeniedError(REFUSED, { keyRefused: true }));
    expect(h.accountRefused).to.equal(false);
  });

  it("a permission refusal the adapter did not name as the key's stays an outage", async () => {
    const { h } = health();
    await h.failed(new PermissionDeniedError('restricted location'));
    expect(h.keyRefused).to.equal(false);
  });
});
