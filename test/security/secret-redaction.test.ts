/**
 * Issue 12 holes 7 and 9 with the real trading daemon and the real CLI: a secret typed into a pause reason is
 * masked when trading receives it, so it is absent from every output (the CLI's answer, status JSON, the event
 * log that Telegram alerts are made from, the state file, the logs); a CR/LF in it forges no log line.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';
import { freePort } from '../../harness/ports';
import { daemonEnv, TradingDaemon } from '../support/trading-daemon';

const SECRET = 'exch-secret-7f3a9c1e5b2d8f4a';

describe('a secret in operator free text never leaves trading @slow', function () {
  this.timeout(60_000);
  let root: string;
  let daemon: TradingDaemon | undefined;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-sec-redact-'));
  });
  afterEach(async () => {
    await daemon?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('pause --reason with the exchange secret and a CR/LF: masked in the answer, status, events, state and logs', async () => {
    const env = daemonEnv(root, await freePort(), {
      EXCHANGE_SECRET: SECRET,
      EXCHANGE_API_KEY: 'exch-key-0123456789abcd',
    });
    daemon = new TradingDaemon(root, env);
    await daemon.ready;

    const reason = `rotating key ${SECRET}\r\n2026-01-01T00:00:00.000Z error FORGED line`;
    const paused = await runCli(['pause', '--reason', reason, '--json'], { env, cwd: root });
    expect(paused.code, paused.stderr).to.equal(0);
    const status = await runCli(['status', '--json'], { env, cwd: root });
    await daemon.stop();

    const dataDir = path.join(root, 'data');
    const logDir = path.join(root, 'logs');
    const outputs: Record<string, string> = {
      'pause answer': paused.stdout + paused.stderr,
      'status JSON': status.stdout,
      'event log': fs.readFileSync(path.join(dataDir, 'events.jsonl'), 'utf8'),
      'state file': fs.readFileSync(path.join(dataDir, 'trading-state.json'), 'utf8'),
      'JSON log': fs.readFileSync(path.join(logDir, 'trading.log'), 'utf8'),
      console: daemon.log(),
    };
    for (const [where, text] of Object.entries(outputs)) expect(text, where).to.not.include(SECRET);
    // the reason itself got through, masked
    expect(outputs['status JSON']).to.include('rotating key [REDACTED]');
    expect(outputs['event log']).to.include('rotating key [REDACTED]');
    // no console line of trading starts with the forged timestamp
    expect(
      daemon
        .log()
        .split('\n')
        .filter((l) => l.startsWith('2026-01-01T00:00:00.000Z')),
    ).to.deep.equal([]);
  });
});
