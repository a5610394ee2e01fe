import { expect } from 'chai';
import {
  TRADING_STATE_MIGRATIONS,
  clientOrderIdFor,
  defaultTradingState,
  newInstallId,
  parseClientOrderId,
  seqOf,
  validateTradingState,
} from '../../../src/trading/engine/trading-state';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';

describe('clientOrderIds: <botId>-<installId>-<seq>', () => {
  it('builds ids Binance accepts, at most 36 characters even with a 16-character bot id', () => {
    const id = clientOrderIdFor('A'.repeat(16), newInstallId(), 999_999_999_999);
    expect(id.length).to.be.at.most(36);
    expect(id).to.match(binanceProfile.clientOrderId.pattern);
  });

  it('reads both forms: with an install id, and the one sent before install ids existed', () => {
    expect(parseClientOrderId('bot-ab12cd-42', 'bot')).to.deep.equal({ installId: 'ab12cd', seq: 42 });
    expect(parseClientOrderId('bot-42', 'bot')).to.deep.equal({ installId: null, seq: 42 });
    expect(parseClientOrderId('other-ab12cd-42', 'bot')).to.equal(null);
    expect(parseClientOrderId('bot-AB12CD-42', 'bot')).to.equal(null);
    expect(parseClientOrderId('bot-ab12cd-', 'bot')).to.equal(null);
    expect(parseClientOrderId(undefined, 'bot')).to.equal(null);
  });

  it("bounds this install's sequence by its own ids and legacy ones, never by another install's", () => {
    expect(seqOf('bot-ab12cd-42', 'bot', 'ab12cd')).to.equal(42);
    expect(seqOf('bot-42', 'bot', 'ab12cd')).to.equal(42);
    expect(seqOf('bot-zz99zz-42', 'bot', 'ab12cd')).to.equal(null);
  });

  it('gives every new state its own random install id, and older state files one when migrated', () => {
    const ids = new Set(Array.from({ length: 50 }, () => defaultTradingState().installId));
    expect(ids.size).to.equal(50);
    for (const installId of ids) expect(installId).to.match(/^[a-z0-9]{6}$/);
    const v1 = { ...defaultTradingState() } as Record<string, unknown>;
    delete v1.installId;
    expect(() => validateTradingState(v1)).to.throw(/installId/);
    const migrated = TRADING_STATE_MIGRATIONS[1](v1) as Record<string, unknown>;
    expect(validateTradingState(migrated).installId).to.match(/^[a-z0-9]{6}$/);
  });
});

describe('clientOrderIds without a separator (exchanges that allow letters and digits only)', () => {
  it('joins the parts directly and reads them back, never confusing them with the hyphen forms', () => {
    const id = clientOrderIdFor('bot', 'ab12c3', 42, '');
    expect(id).to.equal('botab12c342');
    expect(id).to.match(/^[A-Za-z0-9]{1,32}$/);
    expect(parseClientOrderId(id, 'bot')).to.deep.equal({ installId: 'ab12c3', seq: 42 });
    expect(seqOf(id, 'bot', 'ab12c3')).to.equal(42);
    expect(seqOf(id, 'bot', 'zz99zz')).to.equal(null);
    expect(parseClientOrderId('botab12c', 'bot')).to.equal(null);
    expect(parseClientOrderId('bot-ab12c3-42', 'bot')).to.deep.equal({ installId: 'ab12c3', seq: 42 });
  });
});
