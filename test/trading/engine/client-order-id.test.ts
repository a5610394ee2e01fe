import { expect } from 'chai';
import {
  TRADING_STATE_MIGRATIONS,
  clientOrderIdFor,
  defaultTradingState,
  isOwnClientOrderId,
  newInstallId,
  parseClientOrderId,
  seqOf,
  validateTradingState,
} from '../../../src/trading/engine/state/trading-state';
import { binanceProfile } from '../../../src/trading/exchange/profiles/binance';
import { okxProfile } from '../../../src/trading/exchange/profiles/okx';

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

describe('clientOrderIds joined by Z (exchanges that allow letters and digits only)', () => {
  it('joins the parts with Z and reads them back, never confusing them with the hyphen forms', () => {
    const id = clientOrderIdFor('bot', 'ab12c3', 42, 'Z');
    expect(id).to.equal('botZab12c3Z42');
    expect(id).to.match(okxProfile.clientOrderId.pattern);
    expect(parseClientOrderId(id, 'bot')).to.deep.equal({ installId: 'ab12c3', seq: 42 });
    expect(seqOf(id, 'bot', 'ab12c3')).to.equal(42);
    expect(seqOf(id, 'bot', 'zz99zz')).to.equal(null);
    expect(parseClientOrderId('botZab12cZ', 'bot')).to.equal(null);
    expect(parseClientOrderId('bot-ab12c3-42', 'bot')).to.deep.equal({ installId: 'ab12c3', seq: 42 });
  });

  it("a bot whose id starts with another's never takes the other's ids for its own (bot, bot2, botZ, botZa)", () => {
    const bots = ['bot', 'bot2', 'botZ', 'botZa', 'botZab12c3', 'Bot'];
    for (const mine of bots) {
      for (const other of bots) {
        if (other === mine) continue;
        for (const installId of ['ab12c3', '2abc12', '000000']) {
          for (const seq of [1, 5, 35, 9_999_999_999]) {
            const id = clientOrderIdFor(other, installId, seq, 'Z');
            expect(parseClientOrderId(id, mine), `${id} read as ${mine}'s`).to.equal(null);
            expect(isOwnClientOrderId(id, mine, installId), `${id} taken by ${mine}`).to.equal(false);
          }
        }
      }
    }
  });

  it("reads the ids OKX got before the Z (<botId><installId><seq>), as this bot's only with this install's id", () => {
    // 'bot2' + 'abc123' + 5 reads as bot 'bot' with install '2abc12' and seq 35: the old form cannot tell them apart
    expect(parseClientOrderId('bot2abc1235', 'bot')).to.deep.equal({
      installId: '2abc12',
      seq: 35,
      legacy: true,
    });
    expect(isOwnClientOrderId('bot2abc1235', 'bot', 'ab12c3')).to.equal(false);
    expect(isOwnClientOrderId('botab12c342', 'bot', 'ab12c3')).to.equal(true);
    expect(seqOf('botab12c342', 'bot', 'ab12c3')).to.equal(42);
    expect(seqOf('bot2abc1235', 'bot', 'ab12c3')).to.equal(null);
    // the new forms are every install's (a lost data dir): adopted, never given a seq
    expect(isOwnClientOrderId('botZzz99zzZ7', 'bot', 'ab12c3')).to.equal(true);
    expect(isOwnClientOrderId('bot-zz99zz-7', 'bot', 'ab12c3')).to.equal(true);
  });

  it('a 14-character bot id still fits OKX (32 characters)', () => {
    const id = clientOrderIdFor('A'.repeat(14), 'a0a0a0', 9_999_999_999, 'Z');
    expect(id.length).to.equal(32);
    expect(id).to.match(okxProfile.clientOrderId.pattern);
  });
});
