import { expect } from 'chai';
import fc from 'fast-check';
import { Redactor, REDACTED } from '../../../src/shared/logging/redact';

const KEY = 'AKIAEXAMPLEKEY123456';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLE';
const BOT = '7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

describe('Redactor', () => {
  it('judges every key the same way after thousands of distinct keys and long ones (the remembered verdicts)', () => {
    const r = new Redactor();
    const assets: Record<string, number> = {};
    for (let i = 0; i < 5_000; i++) assets[`ASSET${i}`] = i;
    const longKey = `${'x'.repeat(100)}_secret`;
    for (let round = 0; round < 2; round++) {
      const out = r.redactValue({ assets, apiSecret: 'hunter2-hunter2', price: 3, [longKey]: 'v' }) as Record<
        string,
        unknown
      >;
      expect(out.apiSecret).to.equal(REDACTED);
      expect(out.price).to.equal(3);
      expect(out[longKey]).to.equal(REDACTED);
      expect((out.assets as Record<string, number>).ASSET4999).to.equal(4999);
    }
  });

  const r = new Redactor([KEY, SECRET, BOT, undefined, 'abc']);

  it('masks registered secret values anywhere in a string', () => {
    expect(r.redactString(`key=${KEY} and secret:${SECRET}!`)).to.equal(
      `key=${REDACTED} and secret:${REDACTED}!`,
    );
  });

  it('masks Telegram bot tokens even when not registered, and any /bot<id>:<x>/ URL path', () => {
    const fresh = new Redactor();
    expect(fresh.redactString(`token ${BOT}`)).to.equal(`token ${REDACTED}`);
    expect(fresh.redactString('POST http://127.0.0.1:9000/bot1:short-test-token/sendMessage')).to.equal(
      `POST http://127.0.0.1:9000/bot${REDACTED}/sendMessage`,
    );
    expect(fresh.redactString('https://api.telegram.org/file/bot42:xyz/photos/a.jpg')).to.equal(
      `https://api.telegram.org/file/bot${REDACTED}/photos/a.jpg`,
    );
  });

  it('masks credential query parameters, URL user-info passwords and authorization headers', () => {
    const fresh = new Redactor();
    expect(
      fresh.redactString('GET https://x.test/api?symbol=BTC&apiKey=abc123&signature=deadbeef&limit=5'),
    ).to.equal(`GET https://x.test/api?symbol=BTC&apiKey=${REDACTED}&signature=${REDACTED}&limit=5`);
    expect(fresh.redactString('https://user:hunter22@db.test/x')).to.equal(
      `https://user:${REDACTED}@db.test/x`,
    );
    expect(fresh.redactString('Authorization: Bearer eyJhbGciOi.x.y')).to.equal(
      `Authorization: Bearer ${REDACTED}`,
    );
    expect(fresh.redactString('{"X-MBX-APIKEY":"vmPUZE6mv9SD5V"}')).to.equal(
      `{"X-MBX-APIKEY":"${REDACTED}"}`,
    );
  });

  it('says "(unset)" of an unset secret instead of masking it, and still masks a set one', () => {
    const r = new Redactor();
    expect(r.redactString('  - EXCHANGE_API_KEY = (unset): live mode needs the exchange API key')).to.equal(
      '  - EXCHANGE_API_KEY = (unset): live mode needs the exchange API key',
    );
    expect(r.redactString('EXCHANGE_API_KEY = abcDEF123456')).to.equal('EXCHANGE_API_KEY = [REDACTED]');
  });

  it('leaves ordinary text alone (short values are never registered as secrets)', () => {
    const text = 'order BTC/USDT buy 0.01 @ 43000.5 abc filled; see https://api.telegram.org/botfather';
    expect(r.redactString(text)).to.equal(text);
  });

  it('masks secret-named keys and walks nested objects, arrays, maps and URLs without mutating them', () => {
    const meta = {
      user: 'bob',
      apiKey: 'anything',
      nested: { list: [`x ${SECRET}`, { password: 'p' }] },
      url: new URL(`https://h.test/bot${BOT}/getMe`),
    };
    const copy = structuredClone({ ...meta, url: meta.url.href });
    const out = r.redactValue(meta) as Record<string, unknown>;
    expect(out).to.deep.equal({
      user: 'bob',
      apiKey: REDACTED,
      nested: { list: [`x ${REDACTED}`, { password: REDACTED }] },
      url: `https://h.test/bot${REDACTED}/getMe`,
    });
    expect({ ...meta, url: meta.url.href }).to.deep.equal(copy);
  });

  it('turns errors into plain objects with message, stack, fields and cause chain all redacted', () => {
    const cause = new Error(`inner ${KEY}`);
    const err = Object.assign(new Error(`outer ${SECRET}`, { cause }), {
      code: 'E_AUTH',
      url: `https://x.test/?apikey=${KEY}`,
    });
    const out = r.redactValue(err) as Record<string, unknown>;
    expect(out.message).to.equal(`outer ${REDACTED}`);
    expect(out.code).to.equal('E_AUTH');
    expect(out.url).to.equal(`https://x.test/?apikey=${REDACTED}`);
    expect(String(out.stack)).to.include(`outer ${REDACTED}`).and.not.include(SECRET);
    expect((out.cause as Record<string, unknown>).message).to.equal(`inner ${REDACTED}`);
  });

  it('survives cycles and very deep objects without leaking what it cannot walk', () => {
    const a: Record<string, unknown> = { s: SECRET };
    a.self = a;
    expect(r.redactValue(a)).to.deep.equal({ s: REDACTED, self: '[circular]' });
    let deep: Record<string, unknown> = { s: SECRET };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(JSON.stringify(r.redactValue(deep))).not.to.include(SECRET);
    // A value shared by two branches is not a cycle.
    const shared = { s: 'ok' };
    expect(r.redactValue({ a: shared, b: shared })).to.deep.equal({ a: { s: 'ok' }, b: { s: 'ok' } });
  });

  it('returns plain objects and arrays with nothing to mask as they are, copies only what changes, never mutates', () => {
    const clean = { symbol: 'BTC/USDT', amount: 0.5, tags: ['a', 'b'], nested: { at: new Date(0) } };
    expect(r.redactValue(clean)).to.equal(clean);
    const dirty = {
      symbol: 'BTC/USDT',
      nested: { note: `k=${KEY}` },
      list: ['ok', SECRET],
      clean: clean.nested,
    };
    const snapshot = JSON.stringify(dirty);
    const out = r.redactValue(dirty) as typeof dirty;
    expect(out).to.deep.equal({
      symbol: 'BTC/USDT',
      nested: { note: `k=${REDACTED}` },
      list: ['ok', REDACTED],
      clean: clean.nested,
    });
    expect(out).not.to.equal(dirty);
    expect(out.clean, 'an untouched branch is shared').to.equal(clean.nested);
    expect(JSON.stringify(dirty), 'the input is unchanged').to.equal(snapshot);
    // anything but a plain object is copied into one, as before (a class's toJSON or getters never reach the output)
    class Order {
      constructor(readonly id: string) {}
      toJSON(): string {
        return 'leaked';
      }
    }
    const order = new Order('o-1');
    const copied = r.redactValue(order);
    expect(copied).not.to.equal(order);
    expect(JSON.stringify(copied)).to.equal('{"id":"o-1"}');
    // a plain object with its own toJSON is copied without it: serialising the result never runs it
    const sneaky = { id: 'o-2', toJSON: () => ({ apiKey: KEY }) };
    const out2 = r.redactValue({ order: sneaky }) as { order: unknown };
    expect(JSON.stringify(out2)).to.equal('{"order":{"id":"o-2"}}');
    expect(JSON.stringify(out2)).not.to.include(KEY);
  });

  it("redactEntry returns a new entry and leaves the caller's fields as they were", () => {
    const meta = { token: 't', nested: { note: `n ${KEY}` } };
    const entry = { level: 'info', message: `m ${KEY}`, ...meta };
    const out = r.redactEntry(entry);
    expect(out).not.to.equal(entry);
    expect(out.message).to.equal(`m ${REDACTED}`);
    expect(out.token).to.equal(REDACTED);
    expect(out.nested).to.deep.equal({ note: `n ${REDACTED}` });
    expect(entry.message).to.equal(`m ${KEY}`);
    expect(meta.nested.note).to.equal(`n ${KEY}`);
  });

  it('never lets a registered secret through, whatever surrounds it', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 4 }), fc.string(), (before, secret, after) => {
        const red = new Redactor([secret]);
        expect(red.redactString(before + secret + after)).not.to.include(secret);
      }),
    );
  });

  describe("a secret holding < or > in a shape (masked whole; only a tag of Telegram's HTML ends a value: review 44h)", () => {
    const r = new Redactor();
    it('a password with < in a URL userinfo is masked', () => {
      const out = r.redactString('proxy http://bob:pa<ss9word@proxy.local:8080 refused');
      expect(out).to.not.include('ss9word');
    });

    it('an API key header value with > is masked whole', () => {
      const out = r.redactString('X-API-KEY: k3y>secret-part');
      expect(out).to.not.include('secret-part');
    });

    it('a passphrase query value with < is masked whole', () => {
      const out = r.redactString('GET https://host/api?passphrase=abc<def123 failed');
      expect(out).to.not.include('def123');
    });

    it("a value right before a tag of Telegram's HTML leaves the tag whole (review 44g)", () => {
      expect(r.redactString('<pre>GET /x?signature=abc</pre>')).to.equal(
        '<pre>GET /x?signature=[REDACTED]</pre>',
      );
      expect(r.redactString('Authorization: Bearer abc.def</code>')).to.equal(
        'Authorization: Bearer [REDACTED]</code>',
      );
    });
  });
});
