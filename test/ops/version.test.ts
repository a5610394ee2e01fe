import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { readPackageVersion } from '../../src/ops/version';
import { TempDirs } from '../support/temp-dirs';

describe("a package's version, read from its package.json", () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  function packageJson(text: string): string {
    const file = path.join(temp.make('byninja-version-'), 'package.json');
    fs.writeFileSync(file, text);
    return file;
  }

  it("is the file's version, of the package named when a name is given", () => {
    const file = packageJson(JSON.stringify({ name: 'byninja', version: '1.2.3' }));
    expect(readPackageVersion(file)).to.equal('1.2.3');
    expect(readPackageVersion(file, 'byninja')).to.equal('1.2.3');
    expect(readPackageVersion(file, 'ccxt')).to.equal(undefined);
  });

  it('is none from a package.json missing, torn, not an object, or without a version', () => {
    expect(readPackageVersion(path.join(temp.make('byninja-version-'), 'package.json'))).to.equal(undefined);
    expect(readPackageVersion(packageJson('{"name": "byninja", "vers'))).to.equal(undefined);
    expect(readPackageVersion(packageJson('null'), 'byninja')).to.equal(undefined);
    expect(readPackageVersion(packageJson('{"name": "byninja", "version": ""}'))).to.equal(undefined);
    expect(readPackageVersion(packageJson('{"name": "byninja", "version": 1}'))).to.equal(undefined);
  });
});
