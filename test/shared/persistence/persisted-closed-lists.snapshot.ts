/**
 * The closed lists of each versioned persisted file, by the file's version (persisted-closed-lists.test.ts). A
 * version's lists never change once written here: a new value is a new version.
 */
export type ClosedLists = Record<string, string[]>;

export const CLOSED_LIST_SNAPSHOTS: Record<string, Record<number, ClosedLists>> = {
  'trading-state.json': {
    5: {
      'identity.mode': ['paper', 'dry-run', 'live'],
      'orders.*.side': ['buy', 'sell'],
      'orders.*.type': ['market', 'limit'],
      'orders.*.status': [
        'intent',
        'unknown',
        'open',
        'partially_filled',
        'filled',
        'cancelled',
        'rejected',
        'expired',
      ],
      'orders.*.purpose': ['entry', 'exit', 'stop-loss', 'take-profit', 'close-all', 'adopted', 'write-off'],
      'orders.*.fills.*.side': ['buy', 'sell'],
      'orders.*.fills.*.feeEstimated': ['true'],
      'orders.*.operatorSettled.outcome': ['not-carried-out', 'carried-out'],
      'risk.killSwitch.kind': ['max-drawdown', 'daily-loss'],
      'pause.by': ['operator', 'risk', 'operational', 'persist'],
      'pause.joined.*.by': ['operator', 'risk', 'operational', 'persist'],
      'announcedHalts.*.status': ['halted', 'delisted'],
      'announcedUnsellable.*.reason': ['below-minimum', 'delisted'],
    },
  },
  'trading-history.jsonl': {
    5: {
      kind: ['"order"'],
      'order.side': ['buy', 'sell'],
      'order.type': ['market', 'limit'],
      'order.status': [
        'intent',
        'unknown',
        'open',
        'partially_filled',
        'filled',
        'cancelled',
        'rejected',
        'expired',
      ],
      'order.purpose': ['entry', 'exit', 'stop-loss', 'take-profit', 'close-all', 'adopted', 'write-off'],
      'order.fills.*.side': ['buy', 'sell'],
      'order.fills.*.feeEstimated': ['true'],
      'order.operatorSettled.outcome': ['not-carried-out', 'carried-out'],
    },
  },
  'paper-exchange.json': {
    1: {
      'orders.*.side': ['buy', 'sell'],
      'orders.*.type': ['market', 'limit'],
      'orders.*.status': ['open', 'closed', 'canceled', 'rejected', 'expired'],
      'orders.*.trades.*.side': ['buy', 'sell'],
    },
  },
  'telegram-outbox.json': {
    1: {
      'entries.*.priority': ['critical', 'high', 'normal', 'low'],
      'entries.*.digest.alerts.*.priority': ['critical', 'high', 'normal', 'low'],
      'entries.*.digest.alertChat': ['true'],
      'chatMoves.*.via': ['send', 'service-message'],
      'loggedOnly.*.alerts.*.priority': ['critical', 'high', 'normal', 'low'],
      'loggedOnly.*.alertChat': ['true'],
    },
  },
  'telegram-supervisor.json': {
    1: { 'watch.*.down.cause': ['crash', 'hang', 'overlimit', 'restart', 'operator', 'start'] },
  },
};
