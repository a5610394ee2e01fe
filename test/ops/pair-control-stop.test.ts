/** `byninja stop <service>` when PM2 does not answer the stop in time (Pm2Client actionTimeoutMs). */
import { expect } from 'chai';
import { NoAnswerYetError } from '../../src/shared/errors';
import { stopService, type PairControlOptions } from '../../src/ops/pair-control';
import { pm2View } from '../support/pm2-view';

const online = pm2View();

describe('byninja stop: PM2 not answering in time (review 33t)', () => {
  it('says PM2 has not answered yet and may still stop it — not "not stopped"', async () => {
    const lines: string[] = [];
    const pm2 = {
      list: () => Promise.resolve([online]),
      stop: () =>
        Promise.reject(
          new NoAnswerYetError(
            'PM2 stop trading: no answer within 40 s (the PM2 daemon is slow or stuck; it may still do it)',
            { method: 'stop', name: 'trading' },
            new Promise<void>(() => undefined),
          ),
        ),
    } as unknown as PairControlOptions['pm2'];
    const outcome = await stopService({ pm2, out: (l) => void lines.push(l) }, 'trading');
    expect(outcome.ok).to.equal(false);
    expect(lines.join('\n')).to.not.contain('not stopped');
    expect(lines.join('\n')).to.contain('no answer from PM2 yet').and.contain('byninja status');
  });
});
