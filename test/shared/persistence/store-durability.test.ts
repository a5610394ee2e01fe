import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Journal, Store } from '../../../src/shared/persistence';
import { FixtureProcess } from '../../support/fixture-process';
import { TempDirs } from '../../support/temp-dirs';
import { systemClock } from '../../../src/shared/clock';

interface CounterEnvelope {
  version: number;
  data: { counter: number };
}

describe('Store durability under SIGKILL', function () {
  this.timeout(120_000);
  const temp = new TempDirs();
  const children: FixtureProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop();
    temp.cleanup();
  });

  it('@slow killed -9 at random moments of a commit loop, the file always parses and holds at least the last committed value', async () => {
    const dir = temp.make();
    const main = path.join(dir, 'counter.json');
    let lastCommitted = 0;
    for (let round = 0; round < 8; round++) {
      // Each child takes over the lock of the one killed before it, at once.
      const child = new FixtureProcess('commit-loop', [dir]);
      children.push(child);
      const ready = await child.waitForLine((l) => l.startsWith('ready '), 30_000);
      const [, startValue, ...reportJson] = ready.split(' ');
      const report = JSON.parse(reportJson.join(' ')) as {
        quarantined: string[];
        recoveredFromPrevious: boolean;
      };
      expect(Number(startValue), `round ${round} start`).to.be.at.least(lastCommitted);
      expect(report.quarantined, `round ${round}`).to.deep.equal([]);
      expect(report.recoveredFromPrevious, `round ${round}`).to.equal(false);

      const target = Number(startValue) + 1 + Math.floor(Math.random() * 20);
      await child.waitForLine((l) => Number(l) >= target, 60_000);
      await new Promise((r) => setTimeout(r, Math.random() * 4));
      await child.stop('SIGKILL');
      const committed = child.lines.filter((l) => /^\d+$/.test(l)).map(Number);
      lastCommitted = Math.max(lastCommitted, ...committed);

      const env = JSON.parse(fs.readFileSync(main, 'utf8')) as CounterEnvelope;
      expect(env.version).to.equal(1);
      expect(env.data.counter, `round ${round}`).to.be.at.least(lastCommitted);
      if (fs.existsSync(`${main}.prev`)) JSON.parse(fs.readFileSync(`${main}.prev`, 'utf8'));
    }

    const store = await Store.open<{ counter: number }>({
      clock: systemClock,
      dir,
      name: 'counter',
      version: 1,
      defaults: () => ({ counter: 0 }),
    });
    expect(store.openReport.quarantined).to.deep.equal([]);
    expect(store.data.counter).to.be.at.least(lastCommitted);
    await store.close();
    const journal = await Journal.open<{ n: number }>(dir, 'counter-history');
    const entries = await journal.readAll();
    expect(entries.length).to.equal(journal.count()); // every complete line parses: no torn line survived
    expect(Math.max(...entries.map((e) => e.n))).to.be.at.least(lastCommitted - (lastCommitted % 10));
    await journal.close();
    // Nothing but the state, its previous generation, the journal and the last child's lock remains.
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).to.deep.equal([]);
  });
});
