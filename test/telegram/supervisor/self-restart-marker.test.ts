import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  requestSelfRestartMarker,
  selfRestartMarkerPath,
  takeSelfRestartMarker,
} from '../../../src/telegram/supervisor/self-restart-marker';

describe('self-restart marker', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-marker-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is read once at the next boot and then gone', async () => {
    await requestSelfRestartMarker(dir, { chatId: '77', requestedAt: 1234 });
    expect(await takeSelfRestartMarker(dir)).to.deep.equal({ chatId: '77', requestedAt: 1234 });
    expect(fs.existsSync(selfRestartMarkerPath(dir))).to.equal(false);
    expect(await takeSelfRestartMarker(dir)).to.equal(undefined);
  });

  it('a torn marker is removed and ignored, never a crash', async () => {
    fs.writeFileSync(selfRestartMarkerPath(dir), '{"chatId": "7", "reque');
    expect(await takeSelfRestartMarker(dir)).to.equal(undefined);
    expect(fs.existsSync(selfRestartMarkerPath(dir))).to.equal(false);
  });
});
