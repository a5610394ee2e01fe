/**
 * The exactly-once checker the pair test relies on must itself catch a duplicate, a loss and a wrong silent flag,
 * or the end-to-end test could pass with those bugs present.
 */
import { expect } from 'chai';
import { configSchema } from '../../src/shared/config/schema';
import type { TradingEvent } from '../../src/shared/ipc/protocol';
import { deliveryMismatches } from '../support/event-delivery';
import type { SentMessage } from '../../harness/telegram-emulator';

const SETTINGS = configSchema().parse({}).telegram.notifications;

function ev(
  seq: number,
  type: TradingEvent['type'],
  summary: string,
  data: Record<string, unknown> = {},
): TradingEvent {
  return { seq, ts: seq, type, summary, data };
}

function msg(text: string, silent = false): SentMessage {
  return { chatId: '1', text, silent, messageId: 1, at: 1 };
}

const EVENTS: TradingEvent[] = [
  ev(1, 'recovery', 'r', {
    lastExit: { kind: 'killed' },
    restoredOrders: 2,
    restoredPositions: 1,
    durationMs: 3,
  }),
  ev(2, 'order.placed', 'Order placed: a'), // off by default: no message expected
  ev(3, 'order.filled', 'Order filled: a'),
  ev(4, 'position.opened', 'Position opened: a'), // silent by default
  ev(5, 'position.closed', 'Position closed: a', { realizedPnl: -2 }),
  ev(6, 'position.closed', 'Position closed: a', { realizedPnl: -2 }), // same text twice
];
const CLOSED = '📉 <b>Position closed</b>\na\nPnL: <b>-2.00</b>';
const DELIVERED: SentMessage[] = [
  // the recovery merged into a back-online alert counts
  msg(
    '✅ <b>trading back online after a crash</b>\nlast run: killed\nrestored 2 open orders, 1 open position\ntook 3 ms',
  ),
  msg('✅ <b>Order filled</b>\na'),
  msg('📈 <b>Position opened</b>\na', true),
  msg(CLOSED),
  msg(CLOSED),
];

describe('deliveryMismatches (exactly-once check of the e2e tests)', () => {
  it('accepts each notifiable event delivered once, a merged recovery, and repeated texts counted as such', () => {
    expect(deliveryMismatches(EVENTS, DELIVERED, SETTINGS)).to.deep.equal([]);
  });

  it('reports a duplicate, a loss, a wrong silent flag and a recovery summary delivered twice', () => {
    const dup = deliveryMismatches(EVENTS, [...DELIVERED, DELIVERED[1]!], SETTINGS);
    expect(dup.map((d) => [d.seqs, d.expected, d.delivered])).to.deep.equal([[[3], 1, 2]]);
    const lost = deliveryMismatches(EVENTS, DELIVERED.slice(0, 4), SETTINGS);
    expect(lost.map((d) => [d.seqs, d.expected, d.delivered])).to.deep.equal([[[5, 6], 2, 1]]);
    const loud = deliveryMismatches(
      EVENTS,
      DELIVERED.map((m, i) => (i === 2 ? { ...m, silent: false } : m)),
      SETTINGS,
    );
    expect(loud.map((d) => [d.seqs, d.wrongSilent])).to.deep.equal([[[4], 1]]);
    const twice = deliveryMismatches(
      EVENTS,
      [
        ...DELIVERED,
        msg(`🔁 <b>Trading recovered its state</b>\n${DELIVERED[0]!.text.split('\n').slice(1).join('\n')}`),
      ],
      SETTINGS,
    );
    expect(twice.map((d) => [d.seqs, d.delivered])).to.deep.equal([[[1], 2]]);
  });
});
