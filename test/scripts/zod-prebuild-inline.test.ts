import { expect } from 'chai';
import { inlineImmediateArrows } from '../../scripts/zod-prebuild-inline';
import { prebuiltParsersModule } from '../../scripts/zod-prebuild';
import { stateSchemas } from '../../src/trading/engine/state/trading-state-schema';
import { paperAccountSchema } from '../../src/trading/exchange/paper-account';

const INVALID = Symbol('INVALID');

/** The body's function of (input), built as compileFn builds its own: `return (input) => {…}` over INVALID. */
function run(body: string, input: unknown): unknown {
  const factory = new Function('INVALID', `'use strict';\n${body}`) as (
    invalid: symbol,
  ) => (input: unknown) => unknown;
  return factory(INVALID)(input);
}

/** An arrow called on the spot: its `})()`. */
const IIFE = /\}\)\(\)/g;

describe('zod-prebuild-inline: immediately called arrows made blocks', () => {
  it('gives the same answers, with returns from nested loops, nested arrows, `return;` and an if’s assignment', () => {
    const body = `return (input) => {
const v0 = input.list;
let v1 = (() => {
  let v2;
  if (v0 !== undefined) {
    if (!Array.isArray(v0)) return INVALID;
    const out = [];
    for (const item of v0) {
      for (const k in item) { if (k === 'bad') return INVALID; }
      let v3 = (() => {
        if (typeof item.n !== 'number') return INVALID;
        const twice = [1, 2].map((x) => { return x * item.n; });
        return twice[1];
      })();
      if (v3 === INVALID) return INVALID;
      out.push(v3);
    }
    v2 = out;
  }
  return v2;
})();
if (v1 === INVALID) return INVALID;
let v4 = input.flag;
if (v4 === undefined) v4 = (() => { if (input.none) return; return 'default'; })();
const v5 = (() => { switch (input.kind) { case 'a': return 1; default: return INVALID; } })();
if (v5 === INVALID) return INVALID;
return { v1, v4, v5 };
}`;
    const inlined = inlineImmediateArrows(body);
    expect(inlined.match(IIFE)).to.equal(null);
    const inputs: unknown[] = [
      { kind: 'a' },
      { kind: 'b' },
      { kind: 'a', list: 'x' },
      { kind: 'a', list: [{ n: 2 }, { n: 3 }] },
      { kind: 'a', list: [{ n: 2 }, { n: 'x' }] },
      { kind: 'a', list: [{ n: 2, bad: 1 }] },
      { kind: 'a', flag: false },
      { kind: 'a', none: true },
    ];
    for (const input of inputs)
      expect(run(inlined, input), JSON.stringify(input)).to.deep.equal(run(body, input));
    // the arrow inside (map's callback) keeps its own return
    expect(run(inlined, { kind: 'a', list: [{ n: 5 }] })).to.deep.equal({
      v1: [10],
      v4: 'default',
      v5: 1,
    });
  });

  it('leaves any other arrow as it is (its own var, function or target, a try, async, parameters, arguments…)', () => {
    for (const kept of [
      'let a = (() => { var x = 1; return x; })();',
      'let a = (() => { function f() { return 1; } return f(); })();',
      'let a = (async () => { return 1; })();',
      'let a = ((x) => { return x; })(1);',
      'let a = (() => { return 1; })(2);',
      'let a = (() => 1)();',
      'obj.a = (() => { return 1; })();',
      'a += (() => { return 1; })();',
      // its own `a` would take the value meant for the outer one
      'a = (() => { { let a = 1; return a; } })();',
      'a = (() => { for (const a of [1]) return a; return 0; })();',
      // a finally may overrule a return
      'a = (() => { try { return 1; } finally { obj.done = true; } })();',
    ]) {
      const body = `let a = 0; const obj = {};\n${kept}\nreturn a;`;
      expect(inlineImmediateArrows(body), kept).to.equal(body);
    }
    // a comma in a returned value stays one value; an arrow rewritten inside a returned value keeps its own block
    const comma = 'let a = (() => { return 1, 2; })();\nreturn a;';
    expect(inlineImmediateArrows(comma)).to.not.match(IIFE);
    expect(new Function(inlineImmediateArrows(comma))()).to.equal(2);
    const inner =
      'let a = (() => { return [1].map(() => { let w = (() => { return 3; })(); return w; })[0]; })();\nreturn a;';
    expect(inlineImmediateArrows(inner).match(IIFE)).to.equal(null);
    expect(new Function(inlineImmediateArrows(inner))()).to.equal(3);
    // a var inside a function nested in the body is that function's own: the body still moves
    const nestedVar =
      'let a = (() => { const f = function () { var x = 2; return x; }; return f(); })();\nreturn a;';
    expect(inlineImmediateArrows(nestedVar)).to.not.match(IIFE);
    expect(new Function(inlineImmediateArrows(nestedVar))()).to.equal(2);
  });

  it('leaves no immediately called arrow in the parsers the daemon bundles get', () => {
    const module = prebuiltParsersModule({
      'trading-state': stateSchemas().tradingStateSchema,
      'history-entry': stateSchemas().historyEntrySchema,
      'paper-account': paperAccountSchema,
    });
    // one per factory: the wrapper around compileFn's code that zod-prebuild writes itself
    expect(module.match(IIFE)).to.have.length(3);
  });
});
