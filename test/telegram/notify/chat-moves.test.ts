/**
 * The rules of following a group Telegram upgraded to a supergroup (notify/chat-moves.ts) and the words the operator
 * reads (ops/render.ts describeMovedChat), pure.
 */
import { expect } from 'chai';
import { describeMovedChat } from '../../../src/ops/render';
import {
  MAX_CHAT_MOVES,
  addMove,
  followMove,
  idsToProbe,
  mayLearn,
  movedChats,
  movedFrom,
  settleMoves,
  staleSettings,
  type ChatMove,
} from '../../../src/telegram/notify/chat-moves';

const move = (from: string, to: string, via: ChatMove['via'] = 'send'): ChatMove => ({
  from,
  to,
  at: 1,
  via,
  told: false,
});

describe('chat moves (a group upgraded to a supergroup)', () => {
  it('a message for the old id goes to the new one, through several moves, never round a cycle', () => {
    const moves = [move('-1', '-100'), move('-100', '-1000')];
    expect(followMove(moves, '-1')).to.equal('-1000');
    expect(followMove(moves, '-100')).to.equal('-1000');
    expect(followMove(moves, '-5')).to.equal('-5');
    expect(movedFrom(moves, '-1000')).to.have.members(['-1', '-100']);
    expect(movedFrom(moves, '-1')).to.deep.equal([]);
    // a cycle cannot be learned (below), and one written by hand still ends
    expect(followMove([move('-1', '-2'), move('-2', '-1')], '-1')).to.be.oneOf(['-1', '-2']);
  });

  it('a move from a refused send is kept for any chat; from a service message only for a chat a setting names', () => {
    const settings = { chatId: '-1', allowedChatIds: ['-2'] };
    expect(mayLearn([], { from: '-9', to: '-109', via: 'send' }, settings)).to.equal(true);
    // a stranger's group the bot was added to and that was upgraded: not ours to remember
    expect(mayLearn([], { from: '-9', to: '-109', via: 'service-message' }, settings)).to.equal(false);
    expect(mayLearn([], { from: '-1', to: '-101', via: 'service-message' }, settings)).to.equal(true);
    expect(mayLearn([], { from: '-2', to: '-102', via: 'service-message' }, settings)).to.equal(true);
  });

  it('never a move onto itself, back to where it came from, a second one for the same id, or a non-numeric id', () => {
    const settings = { chatId: '-1', allowedChatIds: [] };
    expect(mayLearn([], { from: '-1', to: '-1', via: 'send' }, settings)).to.equal(false);
    expect(mayLearn([move('-1', '-100')], { from: '-100', to: '-1', via: 'send' }, settings)).to.equal(false);
    expect(mayLearn([move('-1', '-100')], { from: '-1', to: '-200', via: 'send' }, settings)).to.equal(false);
    expect(mayLearn([], { from: '-1', to: 'NaN', via: 'send' }, settings)).to.equal(false);
  });

  it('asks Telegram only about the groups a setting names that are not known moved', () => {
    const settings = { chatId: '-7', allowedChatIds: ['-1', '-2', '42', '-7', '-1003'] };
    expect(idsToProbe([], settings)).to.have.members(['-7', '-1', '-2', '-1003']);
    expect(idsToProbe([move('-1', '-1001')], settings)).to.have.members(['-7', '-2', '-1003']);
    expect(idsToProbe([], { allowedChatIds: ['42', 'log'] })).to.deep.equal([]);
  });

  it('remembers a bounded number of moves, the oldest forgotten', () => {
    const moves: ChatMove[] = [];
    for (let i = 1; i <= MAX_CHAT_MOVES + 3; i++) addMove(moves, move(`-${i}`, `-100${i}`));
    expect(moves).to.have.length(MAX_CHAT_MOVES);
    expect(moves[0]!.from).to.equal('-4');
  });

  it('at start a move is followed while a setting still names the old id, forgotten once none does', () => {
    const moves = [move('-1', '-101'), move('-2', '-102'), move('-3', '-103')];
    const settings = { chatId: '-101', allowedChatIds: ['-2', '-102'] };
    expect(settleMoves(moves, settings).map((m) => m.from)).to.deep.equal(['-2']);
    expect(staleSettings({ from: '-1' }, { chatId: '-1', allowedChatIds: ['-1'] })).to.deep.equal([
      'TELEGRAM_CHAT_ID',
      'TELEGRAM_ALLOWED_CHAT_IDS',
    ]);
    expect(movedChats(moves.slice(0, 2), settings)).to.deep.equal([
      { from: '-1', to: '-101', settings: [] },
      { from: '-2', to: '-102', settings: ['TELEGRAM_ALLOWED_CHAT_IDS'] },
    ]);
  });

  it('the operator reads which settings to change to which id, and what ByNinja does meanwhile', () => {
    const both = describeMovedChat({
      from: '-4001',
      to: '-1004001',
      settings: ['TELEGRAM_CHAT_ID', 'TELEGRAM_ALLOWED_CHAT_IDS'],
    });
    expect(both).to.include('TELEGRAM_CHAT_ID=-1004001');
    expect(both).to.include('TELEGRAM_ALLOWED_CHAT_IDS: -1004001 in place of -4001');
    expect(both).to.include('alerts go to -1004001');
    expect(both).to.include("commands from -1004001 are accepted as -4001's were");
    const alertsOnly = describeMovedChat({ from: '-4001', to: '-1004001', settings: ['TELEGRAM_CHAT_ID'] });
    expect(alertsOnly).not.to.include('TELEGRAM_ALLOWED_CHAT_IDS');
    expect(describeMovedChat({ from: '-4001', to: '-1004001', settings: [] })).not.to.match(/TELEGRAM_/);
  });
});
