import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, IpcError } from '../../../src/shared/errors';
import { ipcTokenPath, loadOrCreateIpcToken, readIpcToken } from '../../../src/shared/ipc/token';
import { tempDir } from '../../support/ipc';

describe('ipc/token', () => {
  let dir: string;

  beforeEach(() => {
    dir = tempDir('byninja-token-');
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates <dataDir>/ipc.token on first start: 32 random bytes as hex, mode 0600, and reuses it', async () => {
    const dataDir = path.join(dir, 'data'); // does not exist yet
    const token = await loadOrCreateIpcToken(dataDir);
    expect(token).to.match(/^[0-9a-f]{64}$/);
    const stat = fs.statSync(ipcTokenPath(dataDir));
    expect(stat.mode & 0o777).to.equal(0o600);
    expect(await loadOrCreateIpcToken(dataDir)).to.equal(token);
    expect(await readIpcToken(dataDir)).to.equal(token);
    expect(fs.readdirSync(dataDir)).to.deep.equal(['ipc.token']); // no temp files left behind
  });

  it('gives every process starting at the same time the same token', async () => {
    const tokens = await Promise.all(Array.from({ length: 12 }, () => loadOrCreateIpcToken(dir)));
    expect(new Set(tokens).size).to.equal(1);
    expect(fs.readFileSync(ipcTokenPath(dir), 'utf8').trim()).to.equal(tokens[0]);
    expect(fs.readdirSync(dir)).to.deep.equal(['ipc.token']);
  });

  it('tightens a token file readable by others to 0600', async () => {
    const file = ipcTokenPath(dir);
    fs.writeFileSync(file, 'a'.repeat(64) + '\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect(await loadOrCreateIpcToken(dir)).to.equal('a'.repeat(64));
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
  });

  it('prefers BYNINJA_IPC_TOKEN and creates no file then', async () => {
    const env = 'env-token-0123456789abcdef';
    expect(await loadOrCreateIpcToken(dir, env)).to.equal(env);
    expect(await loadOrCreateIpcToken(dir, '  ')).to.match(/^[0-9a-f]{64}$/); // blank env = unset
    fs.rmSync(ipcTokenPath(dir));
    expect(await readIpcToken(dir, env)).to.equal(env);
    expect(fs.existsSync(ipcTokenPath(dir))).to.equal(false);
  });

  it('refuses a guessably short env token as a configuration error', async () => {
    let error: unknown;
    await loadOrCreateIpcToken(dir, 'short').catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems[0]).to.include({
      field: 'BYNINJA_IPC_TOKEN',
      value: '[redacted]',
    });
  });

  it('refuses an empty or garbled token file instead of silently replacing it', async () => {
    fs.writeFileSync(ipcTokenPath(dir), '', { mode: 0o600 });
    let error: unknown;
    await loadOrCreateIpcToken(dir).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(IpcError);
    expect(fs.readFileSync(ipcTokenPath(dir), 'utf8')).to.equal('');
  });

  it('readIpcToken never creates a token', async () => {
    let error: unknown;
    await readIpcToken(dir).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(IpcError);
    expect(fs.existsSync(ipcTokenPath(dir))).to.equal(false);
  });
});
