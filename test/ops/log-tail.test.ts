import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_LOG_LINES, readLastLines, tailServiceLogs } from '../../src/ops/log-tail';
import { Redactor } from '../../src/shared/logging/redact';

describe('ops log tail', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'byninja-logs-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('returns the last N lines of a file larger than one read chunk', async () => {
    const file = path.join(dir, 'big.log');
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'z'.repeat(20)}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    expect(await readLastLines(file, 5)).to.deep.equal(lines.slice(-5));
    expect(await readLastLines(file, 3000)).to.deep.equal(lines.slice(-3000));
  });

  it('tails out, err and JSON logs with secrets redacted and the count bounded', async () => {
    const secret = 'sup3r-s3cret-api-key';
    fs.writeFileSync(path.join(dir, 'trading.out.log'), `a\nkey=${secret}\n`);
    fs.writeFileSync(
      path.join(dir, 'trading.log'),
      JSON.stringify({ timestamp: 't', level: 'info', message: `using ${secret}`, module: 'x' }) + '\n',
    );
    const tail = await tailServiceLogs({
      service: 'trading',
      lines: 10_000,
      logDir: dir,
      redactor: new Redactor([secret]),
    });
    expect(tail.lines).to.equal(MAX_LOG_LINES);
    const out = tail.sources.find((s) => s.kind === 'out')!;
    expect(out.lines).to.deep.equal(['a', 'key=[REDACTED]']);
    expect(tail.sources.find((s) => s.kind === 'err')!.missing).to.equal(true);
    expect(JSON.stringify(tail)).not.to.include(secret);
  });

  it("shows each line once: the JSON log (the same lines) only when PM2's out file is missing", async () => {
    const secret = 'sup3r-s3cret-api-key';
    fs.writeFileSync(path.join(dir, 'trading.out.log'), 'one line\n');
    fs.writeFileSync(
      path.join(dir, 'trading.log'),
      JSON.stringify({ timestamp: 't', level: 'info', message: `using ${secret}`, module: 'x' }) + '\n',
    );
    const opts = { service: 'trading', lines: 10, logDir: dir, redactor: new Redactor([secret]) };
    const withPm2 = await tailServiceLogs(opts);
    expect(withPm2.sources.map((s) => s.kind)).to.deep.equal(['out', 'err']);
    fs.rmSync(path.join(dir, 'trading.out.log'));
    const withoutPm2 = await tailServiceLogs(opts);
    expect(withoutPm2.sources.find((s) => s.kind === 'json')!.lines).to.deep.equal([
      't info [x] using [REDACTED]',
    ]);
  });
});
