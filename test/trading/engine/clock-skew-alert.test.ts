/** Pure: which measured clock offsets the operator is told of (`clock.skew`). */
import { expect } from 'chai';
import { skewNews } from '../../../src/trading/engine/exchange-watch/clock-skew-alert';

describe('clock skew news', () => {
  it('the first offset of a second or more, either way', () => {
    expect(skewNews(31_000, undefined)).to.equal(true);
    expect(skewNews(-10_000, undefined)).to.equal(true);
    expect(skewNews(1_000, undefined)).to.equal(true);
  });

  it('not an offset under a second with none told: the refusal was not the clock (a slow OKX create past its expTime)', () => {
    expect(skewNews(12, undefined)).to.equal(false);
    expect(skewNews(-999, undefined)).to.equal(false);
  });

  it('then only a move of a second or more from the offset told, back to none included', () => {
    expect(skewNews(31_400, 31_000)).to.equal(false);
    expect(skewNews(32_000, 31_000)).to.equal(true);
    expect(skewNews(5, 31_000)).to.equal(true);
  });
});
