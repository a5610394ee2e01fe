/**
 * Stop 33 (repro, fails on main): /restart when the PM2 daemon does not answer. The bot's restart had no deadline
 * of its own — it relied on PM2's wait_ready + listen_timeout, which bound only the app's start, not a PM2 daemon
 * that is stuck: the command went unanswered for as long as PM2 was. Now Pm2Client bounds restart() and stop() as it
 * bounds list() (actionTimeoutMs, 1 s here; default 40 s), the operator is told at once that there is no answer yet
 * and PM2 may still be doing it, and the outcome follows when PM2 answers after all.
 *
 * A real PM2 daemon (temp PM2_HOME) with a stand-in `trading` app, the real Pm2Client, the real bot (telegraf against
 * the emulator). The daemon is stopped (SIGSTOP: it keeps its socket, answers nothing) right as the restart is
 * asked — by a decorator of the bot's PM2 port, here in the test — and woken (SIGCONT) once the operator was told.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Pm2Client } from '../../../src/ops/pm2-client';
import { systemClock } from '../../../src/shared/clock';
import { Pm2Harness, eventually } from '../../../harness/pm2';
import { confirmCommand, startBotRig, type BotRig } from '../../support/bot-rig';

const ALLOWED = '111';
const APP = `'use strict';
process.on('SIGINT', () => process.exit(0));
setInterval(() => {}, 1000);
if (process.send) process.send('ready');
`;

describe('/restart while the PM2 daemon does not answer', function () {
  this.timeout(90_000);
  let pm2h: Pm2Harness | undefined;
  let pm2: Pm2Client | undefined;
  let rig: BotRig | undefined;
  let stoppedDaemon: number | undefined;

  after(async () => {
    if (stoppedDaemon !== undefined) process.kill(stoppedDaemon, 'SIGCONT');
    await rig?.close();
    await pm2?.disconnect();
    await pm2h?.stop();
  });

  it('says at once that PM2 has not answered yet, then tells the outcome when it does', async () => {
    pm2h = Pm2Harness.create('bn-restart-noanswer-');
    const script = path.join(pm2h.root, 'app.js');
    fs.writeFileSync(script, APP);
    await pm2h.startScript('trading', script);
    const home = pm2h.home;
    const client = new Pm2Client({ pm2Home: home, clock: systemClock, actionTimeoutMs: 1_000 });
    pm2 = client;
    const before = (await client.describe('trading'))!;
    rig = await startBotRig({
      name: 'restart-no-answer',
      telegram: { allowedChatIds: [ALLOWED], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
      deps: () => ({
        pm2: {
          list: () => client.list(),
          restart: (name: string) => {
            // the PM2 daemon stops answering right as the restart is asked
            stoppedDaemon = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
            process.kill(stoppedDaemon, 'SIGSTOP');
            return client.restart(name);
          },
        },
      }),
    });
    const { emu } = rig;

    const after = await confirmCommand(emu, ALLOWED, '/restart trading');

    const noAnswer = await emu
      .waitForMessage((m) => after(m) && /no answer from PM2 yet/.test(m.text), {
        chatId: ALLOWED,
        timeoutMs: 20_000,
      })
      .catch(() => undefined);
    const said = (): string[] =>
      emu
        .sentMessages(ALLOWED)
        .filter(after)
        .map((m) => m.text);
    expect(noAnswer, `the operator was told: ${JSON.stringify(said())}`).to.not.equal(undefined);
    expect(noAnswer!.text).to.include('PM2 may still be doing it; see /status');
    expect(noAnswer!.text).to.include('its outcome follows here, unless telegram restarts first');

    // PM2 goes on: the restart it was asked for happens, and its outcome follows
    process.kill(stoppedDaemon!, 'SIGCONT');
    stoppedDaemon = undefined;
    const late = await emu.waitForMessage((m) => after(m) && /Late answer from PM2/.test(m.text), {
      chatId: ALLOWED,
      timeoutMs: 30_000,
    });
    expect(late.text).to.match(/✅ <b>trading<\/b> restarted/);
    await eventually(
      async () => ((await client.describe('trading'))?.restarts ?? 0) === before.restarts + 1,
      10_000,
      'one restart',
    );
    expect(
      said().filter((t) => /restarted|not restarted/.test(t)),
      JSON.stringify(said()),
    ).to.have.length(1);
  });
});
