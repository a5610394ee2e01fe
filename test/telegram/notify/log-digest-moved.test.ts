/**
 * Review 34 (repro: fails on main 6f36f5d): a group owed a log-only digest that Telegram then upgraded to a
 * supergroup. The outbox moved a chat's log-only record only when it learned the move itself (a send to the old id
 * refused 400 `migrate_to_chat_id`); when the bot learned it first — Telegram's service message in the group, a
 * start's probe, the daily chart's send — nothing was sent to the old id any more, so the record stayed under it:
 * every later message went to the supergroup, whose id has no record, and each start looked the record up under
 * where the old id now leads. The digest was never sent and the record stayed in telegram-outbox.json for good.
 * Now a record under an id the book follows elsewhere is moved along before a digest is taken.
 *
 * Real telegraf against the emulator: the bot (bot-rig) hears the upgrade's service messages (announceMigration) and
 * learns the move in the service's one book, shared with the alert path over a real store on disk, as main.ts wires
 * them; its command replies reach the outbox through onChatTookMessage.
 */
import { expect } from 'chai';
import { eventually } from '../../../harness/pm2';
import type { SentMessage } from '../../../harness/telegram-emulator';
import { startAlertPath, type AlertPath } from '../../support/alert-path';
import { startBotRig, type BotRig } from '../../support/bot-rig';
import { captureLogger } from '../../support/capture-logger';

const GROUP = '-4301';
const SUPERGROUP = '-1004301';
const MEMBER = '222';
const settings = { chatId: GROUP, allowedChatIds: [GROUP] };
const isDigest = (m: SentMessage): boolean => m.text.includes('went to the log only');

describe('a group owed a log-only digest is upgraded to a supergroup: the digest follows it', function () {
  this.timeout(40_000);
  let rig: BotRig | undefined;
  const paths: AlertPath[] = [];
  let captured = captureLogger();
  const logged = (text: string): boolean =>
    captured.lines.some((l) => l.message.startsWith('📣') && l.message.includes(text));

  function run(dir: string, apiRoot: string, token: string): Promise<AlertPath> {
    return startAlertPath({
      dir,
      apiRoot,
      token,
      logger: captured.logger,
      settings,
      refusalBackoffMs: 1,
    }).then((p) => {
      paths.push(p);
      return p;
    });
  }

  beforeEach(async () => {
    captured = captureLogger();
    rig = await startBotRig({
      name: 'log-digest-moved',
      telegram: { ...settings, pollingTimeoutSec: 1 },
      logger: captured.logger,
      deps: async ({ emu, dir }) => {
        const alerts = await run(dir, emu.apiRoot, emu.token);
        return {
          chatMoves: alerts.moves!,
          onChatTookMessage: (id) => void alerts.outbox.chatTakesMessages(id),
        };
      },
      afterBot: async () => {
        for (const p of paths.splice(0)) await p.close();
      },
      readyOn: 'first-poll',
    });
  });

  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  /** The group refuses the bot (it may not post there); an alert goes to the log; then the group is upgraded. */
  async function owedThenUpgraded(alerts: AlertPath): Promise<void> {
    const { emu } = rig!;
    emu.refuseChat(GROUP, 'Bad Request: not enough rights to send text messages to the chat');
    await alerts.outbox.notify({ key: 'crash:trading', priority: 'high', text: '💥 <b>trading crashed</b>' });
    await eventually(() => logged('trading crashed'), 10_000, 'the alert in the log');
    await eventually(() => alerts.store.data.loggedOnly.length === 1, 10_000, 'the alert noted');
    // the admin upgrades the group (and gives the bot its right to post back): the bot hears it from Telegram
    emu.refuseChat(GROUP, null);
    emu.migrateChat(GROUP, SUPERGROUP);
    await emu.announceMigration(GROUP, SUPERGROUP, MEMBER);
    await eventually(
      () => alerts.moves!.resolve(GROUP) === SUPERGROUP,
      10_000,
      'the move learned by the bot',
    );
  }

  it('the supergroup gets the digest (with the notice of the move or the next alert), the record leaves the file', async () => {
    const alerts = paths[0]!;
    await owedThenUpgraded(alerts);
    await alerts.outbox.notify({ key: 'online:trading', priority: 'normal', text: '✅ trading back online' });
    const { emu } = rig!;
    await emu.waitForMessage((m) => m.text === '✅ trading back online', { chatId: SUPERGROUP });
    const digest = await emu.waitForMessage(isDigest, { chatId: SUPERGROUP, timeoutMs: 5_000 });
    expect(digest.text).to.include('1 alert went to the log only').and.include('💥 trading crashed');
    expect(alerts.store.data.loggedOnly).to.deep.equal([]);
    expect(emu.sentMessages(GROUP)).to.deep.equal([]);
    expect(emu.sentMessages(SUPERGROUP).filter(isDigest)).to.have.length(1);
  });

  it('nor is it stuck across a restart of the service: sent once, the file holds no record', async () => {
    const alerts = paths[0]!;
    await owedThenUpgraded(alerts);
    const { emu, dir } = rig!;
    await emu.waitForMessage((m) => m.text.includes("This chat's id changed"), { chatId: SUPERGROUP });
    await alerts.close();
    const second = await run(dir, emu.apiRoot, emu.token);
    await emu.waitForMessage(isDigest, { chatId: SUPERGROUP, timeoutMs: 5_000 });
    await eventually(() => second.outbox.depth() === 0, 10_000, 'the outbox empty');
    expect(emu.sentMessages(SUPERGROUP).filter(isDigest)).to.have.length(1);
    expect(second.store.data.loggedOnly).to.deep.equal([]);
  });
});
