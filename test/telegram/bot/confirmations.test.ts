import { expect } from 'chai';
import { ConfirmationStore } from '../../../src/telegram/bot/confirmations';

describe('bot confirmations', () => {
  it('a button works once, in the chat that asked, before it expires', () => {
    const store = new ConfirmationStore(60_000);
    const p = store.create('42', '42', { kind: 'restart', targets: ['trading'] }, 1000);
    expect(store.take(p.nonce, '43', '42', 2000).status).to.equal('expired'); // another chat
    const ok = store.take(p.nonce, '42', '42', 2000);
    expect(ok.status).to.equal('ok');
    expect(ok.status === 'ok' && ok.pending.action).to.deep.equal({ kind: 'restart', targets: ['trading'] });
    expect(store.take(p.nonce, '42', '42', 2001).status).to.equal('expired'); // double tap
  });

  it('belongs to the user who asked: another member of the group is refused and the owner can still confirm', () => {
    const store = new ConfirmationStore(60_000);
    const p = store.create('-100', '111', { kind: 'closeall' }, 0);
    expect(store.take(p.nonce, '-100', '222', 1).status).to.equal('not-yours');
    expect(store.take(p.nonce, '-100', undefined, 1).status).to.equal('not-yours');
    expect(store.take(p.nonce, '-100', '111', 2).status).to.equal('ok');
  });

  it('a user trusted by name may answer anyone’s confirmation', () => {
    const store = new ConfirmationStore(60_000);
    const p = store.create('-100', '111', { kind: 'closeall' }, 0);
    expect(store.take(p.nonce, '-100', '333', 1, (u) => u === '333').status).to.equal('ok');
  });

  it('an expired or unknown nonce does nothing', () => {
    const store = new ConfirmationStore(60_000);
    const p = store.create('42', '42', { kind: 'closeall' }, 0);
    expect(store.take(p.nonce, '42', '42', 60_001).status).to.equal('expired');
    expect(store.take('forged', '42', '42', 1).status).to.equal('expired');
  });

  it('nonces are unguessable and distinct', () => {
    const store = new ConfirmationStore(60_000);
    const nonces = new Set(
      Array.from({ length: 50 }, () => store.create('1', '1', { kind: 'closeall' }, 0).nonce),
    );
    expect(nonces.size).to.equal(50);
    for (const n of nonces) expect(n.length).to.be.at.least(16);
  });

  it('keeps at most maxPending confirmations', () => {
    const store = new ConfirmationStore(60_000, undefined, 5);
    for (let i = 0; i < 20; i++) store.create('1', '1', { kind: 'closeall' }, 0);
    expect(store.size).to.equal(5);
  });
});
