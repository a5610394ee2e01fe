/**
 * /writeoff through the real bot (telegraf against the Bot API emulator) to trading's control API (the real IpcServer
 * of TradingStub, reached by a real IpcClient): asked, confirmed with the button, and trading's answer shown — the
 * holding written off, or trading's refusal (a position it can still sell) word for word. A malformed symbol is
 * answered with the usage and never reaches trading.
 */
import { expect } from 'chai';
import { confirmCommand, startBotRig, type BotRig } from '../../support/bot-rig';

const ALLOWED = '111';

describe('/writeoff through the real bot (Bot API emulator)', function () {
  this.timeout(30_000);
  let rig: BotRig | undefined;

  before(async () => {
    rig = await startBotRig({
      name: 'writeoff',
      telegram: { allowedChatIds: [ALLOWED], confirmTimeoutSec: 30, pollingTimeoutSec: 1 },
    });
  });

  after(() => rig?.close());

  it('asks first, then writes off a holding trading cannot sell and says what it booked', async () => {
    const { emu, stub } = rig!;
    stub.state.unsellable['BTC/USDT'] = {
      symbol: 'BTC/USDT',
      amount: 0.033,
      reason: 'below-minimum',
      realizedPnl: -1980.5,
      clientOrderId: 'write-off-BTCUSDT-1',
    };
    const question = emu.sentMessages(ALLOWED).length;
    const after = await confirmCommand(emu, ALLOWED, '/writeoff btc/usdt');
    const asked = emu.sentMessages(ALLOWED)[question]!;
    expect(asked.text).to.include('Write off the bot').and.include('BTC/USDT').and.include('refused');
    const done = await emu.waitForMessage((m) => after(m) && m.text.includes('written off'), {
      chatId: ALLOWED,
      timeoutMs: 10_000,
    });
    expect(done.text).to.include('BTC/USDT').and.include('0.033').and.include('-1980.50');
    expect(stub.state.writtenOff).to.deep.equal(['BTC/USDT']);
  });

  it("shows trading's refusal for a position it can still sell: nothing written off", async () => {
    const { emu, stub } = rig!;
    const after = await confirmCommand(emu, ALLOWED, '/writeoff ETH/USDT');
    const refused = await emu.waitForMessage((m) => after(m) && m.text.includes('ETH/USDT'), {
      chatId: ALLOWED,
      timeoutMs: 10_000,
    });
    expect(refused.text).to.include('can still sell');
    expect(stub.state.writtenOff).to.deep.equal(['BTC/USDT']);
  });

  it('answers a malformed symbol with the usage, without asking trading', async () => {
    const { emu, stub } = rig!;
    const calls = stub.state.calls.filter((c) => c === 'writeOff').length;
    const before = Math.max(0, ...emu.sentMessages(ALLOWED).map((m) => m.messageId));
    await emu.sendCommand(ALLOWED, '/writeoff bitcoin');
    const reply = await emu.waitForMessage((m) => m.messageId > before, { chatId: ALLOWED });
    expect(reply.text).to.include('Usage').and.include('/writeoff');
    expect(stub.state.calls.filter((c) => c === 'writeOff').length).to.equal(calls);
  });
});
