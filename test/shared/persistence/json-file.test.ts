import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import {
  readJsonFile,
  readJsonFileSync,
  type JsonFileOptions,
} from '../../../src/shared/persistence/json-file';
import { TempDirs } from '../../support/temp-dirs';

const recordSchema = z.object({ pid: z.number().int() });
const options: JsonFileOptions<{ pid: number }> = {
  parse: (value) => recordSchema.parse(value),
  maxBytes: 64,
};

describe('readJsonFile: missing vs unreadable vs corrupt vs valid (the one JSON-file reader)', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  for (const [name, read] of [
    ['async', readJsonFile],
    ['sync', (file: string, opts: typeof options) => Promise.resolve(readJsonFileSync(file, opts))],
  ] as const) {
    describe(name, () => {
      it('tells a file that is not there (missing) from one that is', async () => {
        const dir = temp.make();
        expect(await read(path.join(dir, 'absent.json'), options)).to.deep.equal({ kind: 'missing' });
      });

      it('returns the value only when it parses and passes its full schema', async () => {
        const file = path.join(temp.make(), 'ok.json');
        fs.writeFileSync(file, '{"pid": 42}');
        expect(await read(file, options)).to.deep.equal({ kind: 'valid', value: { pid: 42 } });
      });

      it('calls a torn file corrupt (not valid JSON), never half-trusted', async () => {
        const file = path.join(temp.make(), 'torn.json');
        fs.writeFileSync(file, '{"pid": 4');
        const result = await read(file, options);
        expect(result.kind).to.equal('corrupt');
        expect((result as { reason: string }).reason).to.match(/^not valid JSON/);
      });

      it('calls JSON that fails the schema corrupt, with the schema’s reason', async () => {
        const file = path.join(temp.make(), 'wrong.json');
        fs.writeFileSync(file, '{"pid": "42"}');
        const result = await read(file, options);
        expect(result.kind).to.equal('corrupt');
        expect((result as { reason: string }).reason).to.match(/pid/);
      });

      it('calls a file larger than maxBytes corrupt without parsing it', async () => {
        const file = path.join(temp.make(), 'big.json');
        fs.writeFileSync(file, JSON.stringify({ pid: 1, pad: 'x'.repeat(100) }));
        expect(await read(file, options)).to.deep.equal({ kind: 'corrupt', reason: 'larger than 64 bytes' });
      });

      it('reports a file that exists but cannot be read as unreadable, with the error', async () => {
        const dir = temp.make();
        const file = path.join(dir, 'a-directory.json');
        fs.mkdirSync(file);
        const result = await read(file, { parse: options.parse });
        expect(result.kind).to.equal('unreadable');
        expect((result as { error: NodeJS.ErrnoException }).error.code).to.equal('EISDIR');
      });
    });
  }
});
