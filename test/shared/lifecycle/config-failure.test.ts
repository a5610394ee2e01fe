import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  clearConfigFailure,
  configFailurePath,
  readConfigFailure,
  writeConfigFailure,
} from '../../../src/shared/lifecycle/config-failure';

describe('configuration failure record', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-cfgfail-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a start with a valid configuration removes the record, and finds none to remove on every later start', () => {
    writeConfigFailure(dir, 'trading', {
      pid: 7,
      at: 1_000,
      problems: [{ field: 'trading.symbols', value: 'X/Y', message: 'no such market' }],
    });
    expect(readConfigFailure(dir, 'trading')?.pid).to.equal(7);
    clearConfigFailure(dir, 'trading');
    expect(readConfigFailure(dir, 'trading')).to.equal(undefined);
    expect(fs.existsSync(configFailurePath(dir, 'trading'))).to.equal(false);
    expect(() => clearConfigFailure(dir, 'trading')).not.to.throw();
  });

  it('a record that cannot be removed is said, not ignored (the start goes on: the caller decides)', () => {
    fs.mkdirSync(configFailurePath(dir, 'trading'));
    expect(() => clearConfigFailure(dir, 'trading')).to.throw(/EISDIR|EPERM/);
  });
});
