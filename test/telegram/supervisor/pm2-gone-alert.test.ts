/** The PM2-gone alert: dated, so its words hold whether it is read at once or delivered at the pair's next start. */
import { expect } from 'chai';
import type { NotificationInput, Notifier } from '../../../src/telegram/notify/notification';
import { pm2GoneAlert, tellPm2Gone } from '../../../src/telegram/supervisor/pm2-gone-alert';
import { FakeClock } from '../../support/fake-clock';

const AT = Date.UTC(2026, 11, 5, 14, 3, 27);

describe('telegram/pm2-gone-alert', () => {
  it('says when PM2 died, what it left unwatched and how the pair comes back — nothing that only holds at once', () => {
    const alert = pm2GoneAlert(AT);
    expect(alert).to.include({ key: 'pm2-gone', priority: 'critical' });
    expect(alert.text).to.include('The PM2 daemon died at 2026-12-05 14:03 UTC');
    expect(alert.text).to.match(/unwatched \(no stop-loss\)/);
    expect(alert.text).to.include('<code>npm start</code>');
    // read at the next start (Telegram could not take it before the pair stopped), these would be false
    for (const now of ['is gone', 'are stopping', 'you hear from them'])
      expect(alert.text).to.not.include(now);
  });

  it('queues the alert dated by the clock, then waits for the outbox to send it, at most the wait it was given', async () => {
    const clock = new FakeClock(AT, { sleep: 'advances' });
    const queued: NotificationInput[] = [];
    let depth = 0;
    const outbox: Notifier = {
      notify: (n) => {
        queued.push(n);
        depth = 1;
        return Promise.resolve();
      },
      depth: () => depth,
    };
    // sent after 120 ms: the wait ends then
    const sentAt = AT + 120;
    const realSleep = clock.sleep.bind(clock);
    clock.sleep = async (ms: number) => {
      await realSleep(ms);
      if (clock.now() >= sentAt) depth = 0;
    };
    await tellPm2Gone(outbox, clock, 1_500);
    expect(queued.map((n) => n.text)).to.deep.equal([pm2GoneAlert(AT).text]);
    expect(clock.now() - AT).to.be.within(120, 170);
    // never sent: it gives up after the wait, and a refused notify never rejects
    depth = 1;
    const giveUp = new FakeClock(AT, { sleep: 'advances' });
    await tellPm2Gone(
      { notify: () => Promise.reject(new Error('disk full')), depth: () => 1 },
      giveUp,
      1_500,
    );
    expect(giveUp.now() - AT).to.be.within(1_500, 1_550);
  });
});
