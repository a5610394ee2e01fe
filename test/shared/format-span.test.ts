import { expect } from 'chai';
import { formatSpan } from '../../src/shared/format-span';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

describe('formatSpan: the one way a span of time is said (alerts, replies, /status, /health, the CLI)', () => {
  it('says each size in its two largest units, the smaller left out when it is 0', () => {
    const said = [
      0,
      350,
      999,
      999.5,
      4_200,
      9_940,
      9_950,
      42 * S,
      59.4 * S,
      59.6 * S,
      90 * S,
      59 * MIN + 29 * S,
      59 * MIN + 31 * S,
      H + 5 * MIN,
      2.5 * H,
      23 * H + 59 * MIN,
      D,
      3 * D + 4 * H + 59 * MIN,
      14 * D - MIN,
    ].map(formatSpan);
    expect(said).to.deep.equal([
      '0 ms',
      '350 ms',
      '999 ms',
      '1 s',
      '4.2 s',
      '9.9 s',
      '10 s',
      '42 s',
      '59 s',
      '1 min',
      '2 min',
      '59 min',
      '1 h',
      '1 h 5 min',
      '2 h 30 min',
      '23 h 59 min',
      '1 d',
      '3 d 4 h',
      '13 d 23 h',
    ]);
  });

  it('a negative span (a clock moved back) is none', () => {
    expect(formatSpan(-5_000)).to.equal('0 ms');
  });
});
