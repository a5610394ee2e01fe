import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { DAEMON_SCRIPTS } from '../../harness/pm2';
import { ESBUILD_TO_ESM, PROTOTYPE_TO_ESM, usePrototypeToEsm } from '../../scripts/bundle-interop';

/** esbuild's helpers that `__toESM` uses, as its bundles define them (the head of dist/daemons/*.bundle.js). */
const PRELUDE =
  'var __create=Object.create;var __defProp=Object.defineProperty;var __getOwnPropDesc=Object.getOwnPropertyDescriptor;' +
  'var __getOwnPropNames=Object.getOwnPropertyNames;var __getProtoOf=Object.getPrototypeOf,' +
  '__hasOwnProp=Object.prototype.hasOwnProperty;var __copyProps=(to,from,except,desc)=>{if(from&&typeof from=="object"||' +
  'typeof from=="function")for(let key of __getOwnPropNames(from))!__hasOwnProp.call(to,key)&&key!==except&&__defProp(' +
  'to,key,{get:()=>from[key],enumerable:!(desc=__getOwnPropDesc(from,key))||desc.enumerable});return to};';

type ToEsm = (mod: unknown, isNodeMode?: number) => Record<string, unknown>;

function helper(definition: string): ToEsm {
  return new Function(`${PRELUDE}${definition};return __toESM;`)() as ToEsm;
}

const requireHere = createRequire(__filename);

describe('the CommonJS interop of the shipped bundles', () => {
  const esbuilds = helper(ESBUILD_TO_ESM);
  const ours = helper(PROTOTYPE_TO_ESM);

  it('reads every property of every module as esbuild’s copying helper does, default included', () => {
    const transpiled = { __esModule: true, default: 'd', named: 1 };
    const plain = { named: 2, nested: { a: 1 } };
    const fn = Object.assign(() => 3, { named: 4 });
    const modules: [string, unknown][] = [
      ...['node:fs', 'node:path', 'node:crypto', 'node:net', 'node:os', 'node:http', 'node:fs/promises'].map(
        (id): [string, unknown] => [id, requireHere(id)],
      ),
      ['transpiled ESM', transpiled],
      ['plain CommonJS object', plain],
      ['function export', fn],
    ];
    for (const [name, mod] of modules) {
      for (const isNodeMode of [undefined, 1]) {
        const a = esbuilds(mod, isNodeMode);
        const b = ours(mod, isNodeMode);
        expect(b.default, `${name}: default`).to.equal(a.default);
        for (const key of Object.getOwnPropertyNames(mod)) {
          expect(b[key], `${name}.${key}`).to.equal(a[key]);
        }
      }
    }
    for (const mod of [null, undefined]) expect(ours(mod).default).to.equal(esbuilds(mod).default);
  });

  it('replaces esbuild’s helper with one of the same length, and refuses a bundle without it', () => {
    const code = `"use strict";${ESBUILD_TO_ESM};var x=__toESM(require("node:fs"));`;
    const patched = usePrototypeToEsm(code, 'x.js');
    expect(patched.length).to.equal(code.length);
    expect(patched).to.include(PROTOTYPE_TO_ESM).and.not.include(ESBUILD_TO_ESM);
    expect(() => usePrototypeToEsm('var __toESM=(m)=>m;', 'y.js')).to.throw(/y\.js: esbuild's __toESM/);
  });

  it('is what the daemon bundles PM2 runs use', () => {
    for (const [name, launcher] of Object.entries(DAEMON_SCRIPTS)) {
      const code = fs.readFileSync(launcher.replace(/\.js$/, '.bundle.js'), 'utf8');
      expect(code, name).to.include(PROTOTYPE_TO_ESM).and.not.include(ESBUILD_TO_ESM);
    }
  });
});
