import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeLogger, createLogger } from '../../../src/shared/logging/logger';
import { REDACTED, Redactor } from '../../../src/shared/logging/redact';
import { Tmpfs } from '../../../harness/tmpfs';

describe('createLogger', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-log-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function jsonLines(file: string): Array<Record<string, unknown>> {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('writes one JSON object per line with level, message, service, module and timestamp', async () => {
    const logger = createLogger({ service: 'svc', logDir: dir, console: false });
    logger.child({ module: 'engine' }).warn('hello', { symbol: 'BTC/USDT' });
    await closeLogger(logger);
    const [line] = jsonLines(path.join(dir, 'svc.log'));
    expect(line).to.include({
      level: 'warn',
      message: 'hello',
      service: 'svc',
      module: 'engine',
      symbol: 'BTC/USDT',
    });
    expect(Date.parse(String(line.timestamp))).to.be.a('number').and.not.NaN;
  });

  it('writes from the level up, child fields accumulate, and a log call never throws', () => {
    const entries: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      service: 'svc',
      console: false,
      level: 'info',
      sinks: [{ write: (entry) => entries.push(entry) }],
    });
    logger.debug('not written');
    const child = logger.child({ module: 'engine' }).child({ symbol: 'BTC/USDT' });
    child.info('written', { side: 'buy' });
    child.warn('getter', {
      get price(): number {
        throw new Error('price getter threw');
      },
    });
    expect(entries.map((e) => e.message)).to.deep.equal(['written', 'getter']);
    expect(entries[0]).to.include({ module: 'engine', symbol: 'BTC/USDT', side: 'buy', service: 'svc' });
    expect(entries[1]).to.include({ level: 'warn', unreadable: 'price getter threw' });
  });

  it('a sink that throws costs its own line only; a message that cannot be read is still redacted', () => {
    const secret = 'sk-live-0123456789abcdef';
    const entries: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      service: 'svc',
      console: false,
      redactor: new Redactor([secret]),
      sinks: [
        {
          write: () => {
            throw new Error('sink down');
          },
        },
        { write: (entry) => entries.push(entry) },
      ],
    });
    logger.info('first');
    logger.warn(`key ${secret}`, {
      get amount(): number {
        throw new Error(`getter saw ${secret}`);
      },
    });
    expect(entries.map((e) => e.message)).to.deep.equal(['first', `key ${REDACTED}`]);
    expect(entries[1]).to.include({ unreadable: `getter saw ${REDACTED}` });
  });

  it("keeps running and writing its file when the console pipe is gone (PM2's daemon died: EPIPE)", async () => {
    const script = `
      const { createLogger } = require(${JSON.stringify(path.join(__dirname, '../../../src/shared/logging/logger.js'))});
      const logger = createLogger({ service: 'svc', logDir: ${JSON.stringify(dir)} });
      process.on('uncaughtException', (err) => { require('fs').writeFileSync(${JSON.stringify(path.join(dir, 'crashed'))}, String(err)); process.exit(9); });
      let i = 0;
      const next = () => {
        logger.info('out ' + i);
        logger.warn('err ' + i);
        if (++i < 200) setTimeout(next, 2);
        else process.exit(0);
      };
      process.stdin.once('data', next);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    // the reader of both console pipes goes away, then the child starts logging
    child.stdout.destroy();
    child.stderr.destroy();
    child.stdin.write('go\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(fs.existsSync(path.join(dir, 'crashed')), 'no uncaught exception').to.equal(false);
    expect(code).to.equal(0);
    const lines = jsonLines(path.join(dir, 'svc.log'));
    expect(lines).to.have.length(400);
    expect(lines[399]).to.include({ level: 'warn', message: 'err 199' });
  });

  it('keeps at most ~1 MiB of console output nobody reads (PM2 daemon stuck), the JSON file every line', async () => {
    // a pipe is written asynchronously: what a stopped reader does not take waits in the writer's memory. On main
    // the whole 5 MB of this run waited (writableLength ≈ 5 MB at the end).
    const report = path.join(dir, 'backlog');
    const script = `
      const { createLogger } = require(${JSON.stringify(path.join(__dirname, '../../../src/shared/logging/logger.js'))});
      const logger = createLogger({ service: 'svc', logDir: ${JSON.stringify(dir)} });
      const pad = 'p'.repeat(230);
      let i = 0;
      const next = () => {
        for (let j = 0; j < 100; j++, i++) logger.info('line ' + i + ' ' + pad);
        if (i < 20000) setImmediate(next);
        else {
          require('fs').writeFileSync(${JSON.stringify(report)}, String(process.stdout.writableLength));
          process.exit(0);
        }
      };
      process.stdin.once('data', next);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    // the reader is there but takes nothing (a stopped PM2 daemon): the pipe fills, then the writer's memory would
    child.stdout.pause();
    child.stdin.write('go\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdout.destroy();
    child.stderr.destroy();
    expect(code).to.equal(0);
    expect(Number(fs.readFileSync(report, 'utf8'))).to.be.at.most(1024 * 1024 + 1024);
    expect(jsonLines(path.join(dir, 'svc.log'))).to.have.length(20000);
  });

  it('@slow a line torn by a full disk is cut back: once there is room again every line of the file is whole', function () {
    const why: { reason?: string } = {};
    const disk = Tmpfs.mount(1, why);
    if (!disk) {
      this.test!.title += ` (skipped: ${why.reason})`;
      this.skip();
    }
    try {
      const logger = createLogger({ service: 'svc', logDir: disk.dir, console: false });
      const pad = 'p'.repeat(10_000);
      logger.info('before', { pad });
      disk.fill();
      disk.freeBytes(4_096); // room for part of the next line only
      for (let i = 0; i < 3; i++) logger.info(`while full ${i}`, { pad });
      disk.free();
      logger.info('after', { pad });
      void closeLogger(logger);
      const messages = jsonLines(path.join(disk.dir, 'svc.log')).map((l) => l.message);
      expect(messages[0]).to.equal('before');
      expect(messages[messages.length - 1]).to.equal('after');
    } finally {
      disk.unmount();
    }
  });

  it('rotates by size: bounded files, newest entries kept in order, none lost around a rotation', async () => {
    const logger = createLogger({
      service: 'svc',
      logDir: dir,
      console: false,
      fileMaxBytes: 4_000,
      fileMaxFiles: 3,
    });
    for (let i = 0; i < 500; i++) logger.info(`entry ${i}`, { pad: 'p'.repeat(40) });
    await closeLogger(logger);
    const files = fs.readdirSync(dir).sort();
    expect(files).to.deep.equal(['svc.log', 'svc.log.1', 'svc.log.2']);
    for (const f of files) expect(fs.statSync(path.join(dir, f)).size).to.be.at.most(4_000);
    // Oldest generation first: the kept entries form one contiguous run ending at the last one.
    const kept = ['svc.log.2', 'svc.log.1', 'svc.log']
      .flatMap((f) => jsonLines(path.join(dir, f)))
      .map((l) => Number(String(l.message).split(' ')[1]));
    expect(kept[kept.length - 1]).to.equal(499);
    expect(kept).to.deep.equal(kept.map((_, i) => kept[0] + i));
    expect(kept.length).to.be.greaterThan(60);
  });

  it('masks secrets in the file and on the console', async () => {
    const secret = 'sk-live-0123456789abcdef';
    const logger = createLogger({
      service: 'svc',
      logDir: dir,
      console: false,
      redactor: new Redactor([secret]),
    });
    logger.error(`failed with ${secret}`, new Error(`inner ${secret}`));
    logger.info('meta', { nested: { value: secret } });
    await closeLogger(logger);
    const text = fs.readFileSync(path.join(dir, 'svc.log'), 'utf8');
    expect(text).not.to.include(secret);
    expect(text).to.include('[REDACTED]');
  });

  it('a line logged right before process.exit is in the file, and console lines are readable text', () => {
    const script = `
      const { createLogger } = require(${JSON.stringify(path.join(__dirname, '../../../src/shared/logging/logger.js'))});
      const logger = createLogger({ service: 'svc', logDir: ${JSON.stringify(dir)} });
      for (let i = 0; i < 200; i++) logger.info('filler ' + i);
      logger.warn('a warning', { n: 1 });
      logger.error('last words', { code: 7 });
      process.exit(3);`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(result.status).to.equal(3);
    const lines = jsonLines(path.join(dir, 'svc.log'));
    expect(lines).to.have.length(202);
    expect(lines[201]).to.include({ message: 'last words', code: 7 });
    // Console: "<iso time> <level> <message> <meta json>", errors on stderr.
    expect(result.stderr).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z error last words \{"code":7\}$/m);
    // warnings go to stderr too (`pm2 logs --err` shows the problems), info to stdout only
    expect(result.stderr).to.match(/Z warn a warning \{"n":1\}$/m);
    expect(result.stdout).not.to.include('a warning');
    expect(result.stdout).to.match(/Z info filler 199$/m);
  });

  it('a CR/LF inside a console message cannot forge a log line of its own (escaped as \\r\\n)', () => {
    const forged = 'operator pause\r\n2026-01-01T00:00:00.000Z error [risk] FORGED kill switch';
    const script = `
      const { createLogger } = require(${JSON.stringify(path.join(__dirname, '../../../src/shared/logging/logger.js'))});
      const logger = createLogger({ service: 'svc' });
      logger.info(${JSON.stringify(forged)});
      logger.error(new Error(${JSON.stringify(forged)}));`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const lines = (result.stdout + result.stderr).split('\n');
    expect(lines.filter((l) => /^\d{4}-\d\d-\d\dT/.test(l) && l.includes('FORGED'))).to.have.length(2);
    expect(lines.filter((l) => l.startsWith('2026-01-01T00:00:00.000Z'))).to.deep.equal([]);
    expect(result.stdout).to.include('operator pause\\r\\n2026-01-01');
  });
});
