import { expect } from 'chai';
import { RefusalLog } from '../../../src/shared/logging/refusal-log';

describe('logging/RefusalLog (pure)', () => {
  it('one line per key per interval; the next line of that key counts the refusals it stood for', () => {
    const log = new RefusalLog(60_000);
    expect(log.record('a', 0)).to.deep.equal({ log: true, suppressed: 0, suppressedOthers: 0 });
    expect(log.record('a', 1_000).log).to.equal(false);
    expect(log.record('a', 2_000).log).to.equal(false);
    expect(log.record('a', 60_000)).to.deep.equal({ log: true, suppressed: 2, suppressedOthers: 0 });
  });

  it('at most maxLinesPerInterval lines over all keys (new keys cost nothing to make: 127.0.0.0/8, chats)', () => {
    const log = new RefusalLog(60_000, 1_000, 10);
    let lines = 0;
    for (let i = 0; i < 500; i++) if (log.record(`127.0.${i >> 8}.${i & 255}`, i).log) lines++;
    expect(lines).to.equal(10);
  });

  it('the first line of the next window counts the other keys’ refusals that were not logged', () => {
    const log = new RefusalLog(60_000, 1_000, 3);
    for (let i = 0; i < 3; i++) expect(log.record(`k${i}`, i).log).to.equal(true);
    for (let i = 3; i < 50; i++) expect(log.record(`k${i}`, i).log).to.equal(false);
    // a key never logged writes its line once the window has room, carrying the 47 other refusals
    expect(log.record('k10', 60_000)).to.deep.equal({ log: true, suppressed: 0, suppressedOthers: 47 });
    expect(log.record('k11', 60_001)).to.deep.equal({ log: true, suppressed: 0, suppressedOthers: 0 });
  });

  it('keys are bounded: the oldest is forgotten first', () => {
    const log = new RefusalLog(60_000, 3, 100);
    for (let i = 0; i < 10; i++) log.record(`k${i}`, i);
    expect(log.size).to.equal(3);
  });
});
