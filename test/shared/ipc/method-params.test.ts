import { expect } from 'chai';
import { checkParams } from '../../../src/shared/ipc/method-params';

describe('ipc/method-params', () => {
  it('a method without params takes {} or nothing, and refuses anything else with the schema’s message', () => {
    for (const raw of [undefined, {}, JSON.parse('{}') as unknown]) {
      expect(checkParams('ping', raw)).to.deep.equal({ ok: true, params: {} });
    }
    for (const raw of [{ pad: 'x' }, JSON.parse('{"__proto__":1}') as unknown, [], null, 'x', 1]) {
      const check = checkParams('status', raw);
      expect(check.ok, JSON.stringify(raw)).to.equal(false);
      if (!check.ok) expect(check.problem).to.be.a('string').and.not.empty;
    }
    const unknownKey = checkParams('ping', { pad: 'x' });
    expect(unknownKey.ok).to.equal(false);
    if (!unknownKey.ok) expect(unknownKey.problem).to.match(/pad/);
  });

  it('a method with params still has them checked', () => {
    expect(checkParams('subscribe', { afterSeq: 3 })).to.deep.equal({ ok: true, params: { afterSeq: 3 } });
    expect(checkParams('subscribe', {}).ok).to.equal(false);
    expect(checkParams('subscribe', undefined).ok).to.equal(false);
  });
});
