import { expect } from 'chai';
import { plainMarkup } from '../../src/ops/render';
import { formatInDoubtOrders, parseSettleArgs } from '../../src/ops/settle-text';

describe("the operator's /settle arguments (parseSettleArgs)", () => {
  it('reads "<id> none" and "<id> filled <amount> <average price>"', () => {
    expect(parseSettleArgs(['bot-7', 'none'])).to.deep.equal({
      ok: true,
      params: { clientOrderId: 'bot-7', outcome: 'not-carried-out' },
    });
    expect(parseSettleArgs(['bot-7', 'FILLED', '0.0032', '47500.5'])).to.deep.equal({
      ok: true,
      params: { clientOrderId: 'bot-7', outcome: 'carried-out', executed: 0.0032, averagePrice: 47_500.5 },
    });
  });

  it('reads an optional fee in a coin: "fee <cost> <coin>"', () => {
    expect(parseSettleArgs(['bot-7', 'filled', '0.01', '50000', 'fee', '0.00001', 'btc'])).to.deep.equal({
      ok: true,
      params: {
        clientOrderId: 'bot-7',
        outcome: 'carried-out',
        executed: 0.01,
        averagePrice: 50_000,
        fee: { cost: 0.00001, currency: 'BTC' },
      },
    });
  });

  it('refuses what could be read two ways or not at all, saying what is wrong', () => {
    for (const [args, says] of [
      [['bot-7'], 'expected <clientOrderId> none'],
      [['bot-7', 'done'], '"done" is neither "none" nor "filled"'],
      [['bot-7', 'none', '1'], '"none" takes nothing after it'],
      [['bot-7', 'filled', '0.1'], 'needs the executed amount and the average price'],
      [['bot-7', 'filled', '1,000', '5'], 'the amount "1,000" is not a decimal number'],
      [['bot-7', 'filled', '0', '5'], 'the amount "0" is not a decimal number above 0'],
      [['bot-7', 'filled', '0.1', '1e5'], 'the price "1e5"'],
      [['bot-7', 'filled', '0.1', '5', 'USDT'], 'unexpected "USDT"'],
      [['bot-7', 'filled', '0.1', '5', 'fee', '0.1'], '"fee" needs its cost and its coin'],
      [['bot-7', 'filled', '0.1', '5', 'fee', '-1', 'BTC'], 'the fee "-1" is not a decimal number'],
      [['bot-7', 'filled', '0.1', '5', 'fee', '1', 'B<b>'], 'is not a coin'],
      [['bot-7', 'filled', '0.1', '5', 'fee', '1', 'BTC', 'x'], 'unexpected "x" after the fee'],
      [['x'.repeat(101), 'none'], 'too long'],
    ] as const) {
      const parsed = parseSettleArgs(args);
      expect(parsed.ok, args.join(' ')).to.equal(false);
      expect(!parsed.ok && parsed.problem).to.include(says);
    }
  });

  it('lists an unknown order in doubt as "outcome unknown", not as one the balance showed carried out', () => {
    const at = Date.UTC(2026, 11, 4, 6, 30);
    const text = formatInDoubtOrders(
      [
        {
          clientOrderId: 'bot-a1-7',
          symbol: 'BTC/USDT',
          side: 'sell',
          type: 'market',
          amount: 0.5,
          filled: 0,
          status: 'unknown',
          purpose: 'stop-loss',
          createdAt: at - 1_000,
          updatedAt: at,
          endedAt: at,
          ended: 'unknown',
          inDoubtAt: at,
          holding: 'its create had no answer (trades not all read): /settle',
        },
      ],
      plainMarkup,
      '/settle',
    );
    expect(text).to.include('outcome unknown (its create had no answer) since 2026-12-04 06:30 UTC');
    expect(text).to.not.include('the balance moved');
    expect(text).to.include('holds BTC/USDT: its create had no answer');
  });

  it('lists an acknowledged order no longer shown, in doubt, as such, not as one the balance showed carried out', () => {
    const at = Date.UTC(2026, 11, 4, 9, 0);
    const text = formatInDoubtOrders(
      [
        {
          clientOrderId: 'bot-a1-9',
          symbol: 'ETH/USDT',
          side: 'buy',
          type: 'limit',
          amount: 0.1,
          filled: 0.04,
          status: 'partially_filled',
          purpose: 'entry',
          createdAt: at - 100 * 86_400_000,
          updatedAt: at,
          endedAt: at,
          ended: 'absent',
          inDoubtAt: at,
        },
      ],
      plainMarkup,
      '/settle',
    );
    expect(text).to.include(
      'no longer shown by the exchange, not settleable from its reads, since 2026-12-04 09:00 UTC',
    );
    expect(text).to.not.include('the balance moved');
    expect(text).to.include(
      'settle: /settle bot-a1-9 none or /settle bot-a1-9 filled <amount> <average price>',
    );
  });

  it('suggests for a finished order whose fills are missing only "filled" (trading refuses "none" for it)', () => {
    const at = Date.UTC(2026, 11, 4, 9, 0);
    const order = {
      clientOrderId: 'bot-a1-4',
      symbol: 'BTC/USDT',
      side: 'buy' as const,
      type: 'market' as const,
      amount: 0.002,
      filled: 0.002,
      status: 'filled' as const,
      purpose: 'entry' as const,
      createdAt: at - 1_000,
      updatedAt: at,
      endedAt: at,
      ended: 'fills-missing' as const,
      inDoubtAt: at,
    };
    const text = formatInDoubtOrders([order], plainMarkup, 'byninja settle');
    expect(text).to.include(
      'settle: byninja settle bot-a1-4 filled <amount> <average price> (the whole executed amount, at least the 0.002 it filled)',
    );
    expect(text).to.not.include('bot-a1-4 none');
    // an absent one whose last answer said more filled than its fills booked: trading says so
    const absent = { ...order, status: 'open' as const, ended: 'absent' as const, filledOnly: true as const };
    const listed = formatInDoubtOrders([absent], plainMarkup, '/settle');
    expect(listed).to.include('settle: /settle bot-a1-4 filled <amount>').and.not.include('bot-a1-4 none');
  });
});
