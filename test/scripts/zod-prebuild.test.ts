import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { INVALID } from 'zod/v4/core';
import { REPO_ROOT } from '../../harness/pm2';
import { prebuiltParsersModule } from '../../scripts/zod-prebuild';
import { loadPrebuiltParsers } from '../support/zod-prebuilt';

describe('zod parsers generated at build time (scripts/zod-prebuild.ts)', () => {
  it("writes each constant as what it is: enum sets, regexes, zod's helpers, defaults and check helpers", () => {
    const schema = z
      .looseObject({
        side: z.enum(['buy', 'sell']),
        digits: z.string().regex(/^\d+$/),
        tags: z.record(z.string(), z.number()).default({}),
        limit: z.number().default(3),
      })
      .superRefine((v, ctx) => {
        if (v.limit > 10) ctx.addIssue({ code: 'custom', path: ['limit'], message: 'too high' });
      });
    const parse = loadPrebuiltParsers({ x: schema }).x(() => schema);
    expect(parse({ side: 'buy', digits: '12', extra: 1 })).to.deep.equal({
      side: 'buy',
      digits: '12',
      extra: 1,
      tags: {},
      limit: 3,
    });
    for (const bad of [
      { side: 'hold', digits: '1' },
      { side: 'buy', digits: 'x' },
      { side: 'buy', digits: '1', limit: 11 },
    ])
      expect(parse(bad), JSON.stringify(bad)).to.equal(INVALID);
    // the checks were handed back: the schema's own parser still runs its refinement
    expect(schema.safeParse({ side: 'buy', digits: '1', limit: 11 }).error!.issues[0].message).to.equal(
      'too high',
    );
  });

  it('fails the build, naming the schema and the constant, for a constant it cannot write (a transform)', () => {
    const schema = z.object({ n: z.string().transform((s) => s.length) });
    expect(() => prebuiltParsersModule({ 'with-transform': schema })).to.throw(
      /cannot prebuild the parser of with-transform: constant c\d+ \(a function it does not know/,
    );
  });

  it('fails the build for a part of the schema the generated code would run (a catch): it would need the schema at every start', () => {
    const schema = z.object({ n: z.number().catch(0) });
    expect(() => prebuiltParsersModule({ 'with-catch': schema })).to.throw(
      /cannot prebuild the parser of with-catch: constant c\d+ \(a part of the schema it runs \(s\(\)\._zod/,
    );
  });

  it('reaches the schema only when a default or a check is needed, not to make the parser', () => {
    let built = 0;
    const schema = z.looseObject({ limit: z.number().default(3) }).superRefine((v, ctx) => {
      if (v.limit > 10) ctx.addIssue({ code: 'custom', message: 'too high' });
    });
    const parse = loadPrebuiltParsers({ x: schema }).x(() => {
      built += 1;
      return schema;
    });
    expect(built, 'made').to.equal(0);
    expect(parse({ limit: 11 })).to.equal(INVALID);
    expect(built, 'the check looked up once').to.equal(1);
    expect(parse({})).to.deep.equal({ limit: 3 });
    expect(built, 'and the default read').to.equal(2);
  });

  it('the shipped trading bundle holds the parsers of the state files', () => {
    const bundle = fs.readFileSync(path.join(REPO_ROOT, 'dist/daemons/trading.bundle.js'), 'utf8');
    for (const id of ['trading-state', 'history-entry', 'paper-account'])
      expect(bundle, id).to.match(new RegExp(`PREBUILT_PARSERS=\\{[^]*"${id}":`));
  });
});
