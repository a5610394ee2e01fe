import { expect } from 'chai';
import { ConfirmationStore } from '../../../src/telegram/bot/confirmations';

describe('bot confirmations', () => {
  it('a button works once, in the chat that asked, before it expires', () => {
    const store = new ConfirmationStore(60_000);
    const p = store.create('42', { kind: 'restart', targets: ['trading'] }, 1000);
    expect(store.take(p.nonce, '43', 2000).status).to.equal('expired'); // another chat
    const ok = store.take(p.nonce, '42', 2000);
    expect(ok.status).to.equal('ok');
    expect(ok.status === 'ok' && ok.pending.action).to.deep.equal({ kind: 'restart', targets: ['trading'] });
    expect(store.take(p.nonce, '42', 2001).status).to.equal('expired'); // double tap
  });

  it('an expired or unknown nonce does nothing', () => {
    const store = new ConfirmationStore(60_000);
    const p = store.create('42', { kind: 'closeall' }, 0);
    expect(store.take(p.nonce, '42', 60_001).status).to.equal('expired');
    expect(store.take('forged', '42', 1).status).to.equal('expired');
  });

  it('nonces are unguessable and distinct', () => {
    const store = new ConfirmationStore(60_000);
    const nonces = new Set(
      Array.from({ length: 50 }, () => store.create('1', { kind: 'closeall' }, 0).nonce),
    );
    expect(nonces.size).to.equal(50);
    for (const n of nonces) expect(n.length).to.be.at.least(16);
  });

  it('keeps at most maxPending confirmations', () => {
    const store = new ConfirmationStore(60_000, undefined, 5);
    for (let i = 0; i < 20; i++) store.create('1', { kind: 'closeall' }, 0);
    expect(store.size).to.equal(5);
  });
});
