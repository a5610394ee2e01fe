/** HangWatch when PM2 does not answer the hang's restart in time (Pm2Client actionTimeoutMs: NoAnswerYetError). */
import { expect } from 'chai';
import { NoAnswerYetError } from '../../../src/shared/errors';
import { silentLogger } from '../../../src/shared/logging/logger';
import type { NotificationInput } from '../../../src/telegram/notify/notification';
import { HangWatch } from '../../../src/telegram/supervisor/hang-watch';
import { eventually } from '../../../harness/pm2';
import { FakeClock } from '../../support/fake-clock';

describe('HangWatch: a restart PM2 has not answered yet (review 33t)', () => {
  it('says so, asks no second restart in the same hang, and tells a late refusal when PM2 answers', async () => {
    const clock = new FakeClock();
    const queued: NotificationInput[] = [];
    let restarts = 0;
    let refuseLate: (err: Error) => void = () => undefined;
    const watch = new HangWatch({
      ping: () => Promise.reject(new Error('ping timed out')),
      status: () => 'online',
      restart: () => {
        restarts += 1;
        const late = new Promise<void>((_, reject) => (refuseLate = reject));
        return Promise.reject(
          new NoAnswerYetError(
            'PM2 restart trading: no answer within 40 s (the PM2 daemon is slow or stuck; it may still do it)',
            { method: 'restart', name: 'trading' },
            late,
          ),
        );
      },
      markHangRestart: () => undefined,
      notifier: { notify: (n) => Promise.resolve(void queued.push(n)), depth: () => queued.length },
      hangTimeoutMs: 30_000,
      action: 'restart',
      intervalMs: 5_000,
      logger: silentLogger(),
      clock,
    });
    await watch.check(); // online seen: the silence is counted from here
    clock.time += 31_000;
    await watch.check();
    expect(restarts).to.equal(1);
    const pending = queued.filter((n) => n.key === 'hang-restart-failed:trading');
    expect(pending).to.have.length(1);
    expect(pending[0].text).to.contain('has not answered').and.not.contain('Could not restart');

    clock.time += 60_000;
    await watch.check();
    expect(restarts, 'one restart per hang: PM2 may still be doing the first').to.equal(1);

    refuseLate(new Error('process name not found'));
    await eventually(
      () => queued.filter((n) => n.key === 'hang-restart-failed:trading').length === 2,
      2_000,
      "PM2's late refusal told",
    );
    const late = queued.filter((n) => n.key === 'hang-restart-failed:trading')[1];
    expect(late.text).to.contain('Could not restart trading').and.contain('process name not found');
  });
});
