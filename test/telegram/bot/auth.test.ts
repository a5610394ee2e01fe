import { expect } from 'chai';
import type { Logger } from '../../../src/shared/logging/logger';
import { CommandAuth, isAuthorized } from '../../../src/telegram/bot/auth';

function capturingLogger(): { logger: Logger; capture: { lines: Array<Record<string, unknown>> } } {
  const capture = { lines: [] as Array<Record<string, unknown>> };
  const logger = {
    warn: (message: string, meta: Record<string, unknown>) => capture.lines.push({ message, ...meta }),
  };
  return { logger: logger as unknown as Logger, capture };
}

describe('bot auth guard', () => {
  it('denies everyone when the allow-list is empty', () => {
    expect(isAuthorized(new Set(), { chatId: 1, userId: 1 })).to.equal(false);
    const { logger } = capturingLogger();
    expect(new CommandAuth([], logger).anyoneAllowed).to.equal(false);
  });

  it('allows a listed chat id or a listed user id, nobody else', () => {
    const allowed = new Set(['100', '-200']);
    expect(isAuthorized(allowed, { chatId: 100, userId: 5 })).to.equal(true);
    expect(isAuthorized(allowed, { chatId: -200 })).to.equal(true);
    expect(isAuthorized(allowed, { chatId: 7, userId: '100' })).to.equal(true);
    expect(isAuthorized(allowed, { chatId: 7, userId: 8 })).to.equal(false);
    expect(isAuthorized(allowed, {})).to.equal(false);
    expect(isAuthorized(allowed, { chatId: 1000 })).to.equal(false); // no prefix matching
  });

  it('a chat Telegram moved commands as the listed group it was; nothing else widens the lists', () => {
    const { logger } = capturingLogger();
    const formerIds = (chatId: string): string[] => (chatId === '-1004001' ? ['-4001'] : []);
    const auth = new CommandAuth(
      { allowedChatIds: ['-4001'], allowedUserIds: ['42'], dangerousCommandsUsersOnly: true },
      logger,
      { formerIds },
    );
    expect(auth.isAllowed({ chatId: '-1004001', userId: '7' })).to.equal(true);
    // read-only for the group's members, as before the move: dangerous still needs a listed user
    expect(auth.mayRunDangerous({ chatId: '-1004001', userId: '7' })).to.equal(false);
    expect(auth.mayRunDangerous({ chatId: '-1004001', userId: '42' })).to.equal(true);
    // the old group not listed (only a user id is): its supergroup is not let in
    const usersOnly = new CommandAuth({ allowedChatIds: [], allowedUserIds: ['-4001'] }, logger, {
      formerIds,
    });
    expect(usersOnly.isAllowed({ chatId: '-1004001', userId: '7' })).to.equal(false);
    const unlisted = new CommandAuth({ allowedChatIds: ['-5'] }, logger, { formerIds });
    expect(unlisted.isAllowed({ chatId: '-1004001', userId: '7' })).to.equal(false);
  });

  it('logs refused attempts at most once per chat per interval, counting the rest', () => {
    const { logger, capture } = capturingLogger();
    const auth = new CommandAuth(['1'], logger, { logIntervalMs: 60_000 });
    expect(auth.recordDenied({ chatId: 9, text: '/restart all' }, 0)).to.equal(true);
    for (let i = 1; i <= 5; i++) expect(auth.recordDenied({ chatId: 9 }, i * 1000)).to.equal(false);
    expect(auth.recordDenied({ chatId: 10 }, 6000)).to.equal(true); // another chat logs on its own
    expect(auth.recordDenied({ chatId: 9 }, 61_000)).to.equal(true);
    const about9 = capture.lines.filter((l) => l.chatId === 9);
    expect(about9).to.have.length(2);
    expect(about9[1]!.suppressedSinceLastLog).to.equal(5);
  });

  it('forgets the oldest strangers beyond maxTracked (a flood cannot grow memory)', () => {
    const { logger } = capturingLogger();
    const auth = new CommandAuth(['1'], logger, { maxTracked: 10 });
    for (let i = 0; i < 1000; i++) auth.recordDenied({ chatId: 1000 + i }, 0);
    expect((auth as unknown as { denied: Map<string, unknown> }).denied.size).to.equal(10);
  });
});
