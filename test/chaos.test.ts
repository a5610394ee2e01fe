/**
 * The short chaos run of `npm run chaos` as part of `npm test`: the real pair under PM2 in a temporary home, 20
 * random faults (SIGKILL of either daemon, an event-loop stall of trading ended by its watchdog, Telegram outages,
 * and — where a tmpfs can be mounted (root) — a full or read-only data dir), then every invariant of
 * scripts/chaos/checks.ts. A fixed seed makes a failure
 * reproducible with `node dist/scripts/chaos.js --faults 20 --seed 20261126 --backoff-cap 2000 --keep`.
 */
import { expect } from 'chai';
import { formatChaosReport } from '../scripts/chaos/report';
import { runChaos, type ChaosResult } from '../scripts/chaos/run';
import { DISK_KINDS, FAULT_KINDS, type FaultKind } from '../scripts/chaos/faults';

/**
 * Every fault kind of `npm run chaos`, including crashes of trading while the Bot API is down and the disk faults
 * (dropped by the run itself, with the reason in the report, where mounting a tmpfs is not allowed).
 */
const TEST_KINDS: FaultKind[] = [...FAULT_KINDS];

describe('chaos @slow', function () {
  this.timeout(6 * 60_000);

  let result: ChaosResult;

  before(async function () {
    result = await runChaos(
      // backoff cap: PM2's exponential restart delay would otherwise make 20 faults take many minutes
      {
        faults: 20,
        seed: 20261126,
        kinds: TEST_KINDS,
        backoffCapMs: 2_000,
        keep: false,
        verbose: false,
      },
      () => undefined,
    );
  });

  it('recovers from 20 random faults: trading answers running again after every kill and stall', function () {
    expect(result.faults).to.have.length(20);
    const failed = result.faults.filter((f) => f.error).map((f) => `#${f.index + 1} ${f.kind}: ${f.error}`);
    expect(failed, failed.join('\n')).to.deep.equal([]);
  });

  it('injects the disk faults where a tmpfs can be mounted (full and read-only data dir)', function () {
    if (result.diskSkipped) {
      this.test!.title += ` (skipped: ${result.diskSkipped})`;
      this.skip();
    }
    expect(result.faults.filter((f) => DISK_KINDS.includes(f.kind))).to.not.be.empty;
  });

  it('keeps every invariant: no duplicate or orphan order, state = exchange, every crash and event notified', function () {
    const violations = result.checks
      .filter((c) => !c.ok)
      .map((c) => `${c.name}: found ${c.found}, expected ${c.expected} (${c.detail ?? ''})`);
    expect(result.checks.length, 'checks ran').to.be.greaterThan(8);
    expect(violations, formatChaosReport(result).text).to.deep.equal([]);
  });
});
