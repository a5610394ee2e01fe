import { expect } from 'chai';
import { emptyCrashLoopState, recordCrash } from '../../../src/telegram/supervisor/crash-loop-policy';
import { observe, startWatching } from '../../../src/telegram/supervisor/hang-policy';
import { shouldReportLinkDown } from '../../../src/telegram/supervisor/link-policy';
import { compareWithSnapshot, selfStartAlerts } from '../../../src/telegram/supervisor/resync';
import { eventNotification } from '../../../src/telegram/supervisor/trading-event-text';
import type { Pm2ProcessView } from '../../../src/ops/pm2-client';
import { configSchema } from '../../../src/shared/config/schema';

const t0 = 1_700_000_000_000;

describe('crash-loop policy', () => {
  const settings = { count: 3, windowMs: 60_000, action: 'alert' as const };

  it('raises one critical alert when crashes exceed the count inside the window', () => {
    const s = emptyCrashLoopState();
    for (let i = 0; i < 3; i++)
      expect(recordCrash(s, 'trading', t0 + i * 1000, settings).alert).to.equal(undefined);
    const v = recordCrash(s, 'trading', t0 + 3000, settings);
    expect(v.alert).to.include({ priority: 'critical' });
    expect(v.alert!.text).to.contain('4 crashes in 3 s');
    expect(v.stop).to.equal(undefined);
    expect(recordCrash(s, 'trading', t0 + 4000, settings).alert, 'once per episode').to.equal(undefined);
  });

  it('does not count crashes older than the window, and a new episode alerts again', () => {
    const s = emptyCrashLoopState();
    for (let i = 0; i < 4; i++) recordCrash(s, 'trading', t0 + i * 30_000, settings);
    expect(s.inLoop.trading).to.equal(false);
    for (let i = 0; i < 3; i++) recordCrash(s, 'trading', t0 + 200_000 + i, settings);
    expect(recordCrash(s, 'trading', t0 + 200_010, settings).alert).to.not.equal(undefined);
  });

  it('with action stop-trading asks to stop trading, but never another service', () => {
    const s = emptyCrashLoopState();
    const stop = { ...settings, action: 'stop-trading' as const };
    let v = {};
    for (let i = 0; i < 4; i++) v = recordCrash(s, 'trading', t0 + i, stop);
    expect(v).to.have.property('stop', 'trading');
    for (let i = 0; i < 4; i++) v = recordCrash(s, 'other', t0 + i, stop);
    expect(v).to.not.have.property('stop');
  });
});

describe('hang policy', () => {
  it('declares a hang once after the timeout without answers, re-armed only by a successful ping', () => {
    const s = startWatching(t0);
    expect(observe(s, { kind: 'ping-failed' }, t0 + 20_000, 30_000)).to.equal(false);
    expect(observe(s, { kind: 'ping-failed' }, t0 + 30_001, 30_000)).to.equal(true);
    expect(observe(s, { kind: 'ping-failed' }, t0 + 60_000, 30_000)).to.equal(false);
    observe(s, { kind: 'online' }, t0 + 61_000, 30_000);
    expect(observe(s, { kind: 'ping-failed' }, t0 + 100_000, 30_000), 'no restart loop').to.equal(false);
    observe(s, { kind: 'ping-ok' }, t0 + 101_000, 30_000);
    expect(observe(s, { kind: 'ping-failed' }, t0 + 132_000, 30_000)).to.equal(true);
  });

  it('a restart or outage restarts the silence clock', () => {
    const s = startWatching(t0);
    observe(s, { kind: 'not-online' }, t0 + 25_000, 30_000);
    expect(observe(s, { kind: 'ping-failed' }, t0 + 40_000, 30_000)).to.equal(false);
  });
});

describe('link policy', () => {
  const base = { stillDown: true, tradingStatus: 'online', now: t0, graceMs: 5000 };
  it('reports a lasting drop while PM2 says trading is online', () => {
    expect(shouldReportLinkDown(base)).to.equal(true);
  });
  it('stays quiet for blips and for drops PM2 explains (crash, stop, restart)', () => {
    expect(shouldReportLinkDown({ ...base, stillDown: false })).to.equal(false);
    expect(shouldReportLinkDown({ ...base, tradingStatus: 'stopped' })).to.equal(false);
    expect(shouldReportLinkDown({ ...base, lastLifecycleAt: t0 - 3000 })).to.equal(false);
  });
});

describe('re-sync with PM2', () => {
  const view = (over: Partial<Pm2ProcessView>): Pm2ProcessView => ({
    name: 'trading',
    pmId: 0,
    pid: 10,
    status: 'online',
    restarts: 5,
    unstableRestarts: 0,
    uptimeMs: 10_000,
    memoryBytes: 0,
    cpuPercent: 0,
    exitCode: 1,
    ...over,
  });

  it('reports restarts that happened while nobody listened, with how the last run ended', () => {
    const prev = { trading: { restarts: 2, status: 'online', seenAt: t0 - 60_000 } };
    const r = compareWithSnapshot(prev, [view({}), view({ name: 'telegram', restarts: 9 })], {
      self: 'telegram',
      reason: 'start',
      now: t0,
      lastRuns: { trading: { kind: 'crash', reason: 'Error: x' } },
    });
    expect(r.alerts).to.have.length(1);
    expect(r.alerts[0].text).to.contain('restarted 3 times while telegram was not running');
    expect(r.alerts[0].text).to.contain('crashed: Error: x');
    expect(r.snapshot.trading.restarts).to.equal(5);
  });

  it('reports a service that went down or vanished, and nothing when all is as it was', () => {
    const prev = {
      trading: { restarts: 5, status: 'online', seenAt: t0 },
      other: { restarts: 0, status: 'online', seenAt: t0 },
    };
    const r = compareWithSnapshot(prev, [view({ status: 'errored', uptimeMs: null })], {
      self: 'telegram',
      reason: 'bus-reconnect',
      now: t0,
      lastRuns: {},
    });
    expect(r.alerts.map((a) => a.priority)).to.deep.equal(['critical', 'high']);
    expect(r.alerts[1].text).to.contain('other is no longer in PM2');
    const same = compareWithSnapshot({ trading: { restarts: 5, status: 'online', seenAt: t0 } }, [view({})], {
      self: 'telegram',
      reason: 'start',
      now: t0,
      lastRuns: {},
    });
    expect(same.alerts).to.deep.equal([]);
  });

  it('confirms a requested self-restart to the chat that asked, and reports an unclean end otherwise', () => {
    const confirmed = selfStartAlerts(
      'telegram',
      { kind: 'clean' },
      { chatId: '7', requestedAt: t0 - 4000 },
      t0,
    );
    expect(confirmed[0]).to.include({ chatId: '7' });
    expect(confirmed[0].text).to.contain('restarted as requested');
    const killed = selfStartAlerts('telegram', { kind: 'killed', reason: 'no marker' }, undefined, t0);
    expect(killed[0].text).to.contain('unclean end');
    expect(selfStartAlerts('telegram', { kind: 'clean' }, undefined, t0)).to.deep.equal([]);
  });
});

describe('trading events → notifications', () => {
  const settings = configSchema().parse({}).telegram.notifications;
  const event = (type: string, over: object = {}) =>
    ({ seq: 12, ts: t0, type, summary: 'BTC/USDT buy 0.1 <filled>', data: {}, ...over }) as never;

  it('follows the per-type setting: on, silent, off', () => {
    expect(eventNotification(event('order.filled'), settings)).to.deep.include({
      silent: false,
      eventSeq: 12,
      key: 'event:12',
    });
    expect(eventNotification(event('order.cancelled'), settings)!.silent).to.equal(true);
    expect(eventNotification(event('order.placed'), settings)).to.equal(undefined);
    expect(eventNotification(event('order.filled'), { ...settings, orderFilled: 'off' })).to.equal(undefined);
  });

  it("an event of a type this build does not know (a newer trading's, mid-upgrade) is sent under its type, high, never muted", () => {
    const quiet = Object.fromEntries(
      Object.keys(settings).map((k) => [k, 'off']),
    ) as unknown as typeof settings;
    const n = eventNotification(event('entry.from_a_newer_build' as never), quiet)!;
    expect(n.priority, 'not evicted before known chatter').to.equal('high');
    expect(n.silent).to.equal(false);
    expect(n.text).to.equal('ℹ️ <b>entry.from_a_newer_build</b>\nBTC/USDT buy 0.1 &lt;filled&gt;');
  });

  it('an order taken back (a position nobody decided appears) is a risk alert: muting rejections does not mute it', () => {
    const quietRejections = { ...settings, orderRejected: 'off' as const };
    expect(eventNotification(event('order.taken_back'), quietRejections)!.priority).to.equal('high');
    expect(eventNotification(event('order.taken_back'), { ...settings, riskTriggered: 'off' })).to.equal(
      undefined,
    );
  });

  it('an order the exchange no longer has, settled from its fills, is a risk alert naming the order and the settlement', () => {
    const summary =
      'buy 0.003 BTC/USDT (entry, bot-a1b2c3-7) is no longer on the exchange (not among its open orders, not found ' +
      'by a lookup): settled from its fills as cancelled, filled 0.001 of 0.003';
    const n = eventNotification(event('order.settled_absent', { summary }), {
      ...settings,
      orderCancelled: 'off',
      orderRejected: 'off',
    })!;
    expect(n.priority).to.equal('high');
    expect(n.silent).to.equal(false);
    expect(n.text).to.equal(`🔎 <b>Order no longer on the exchange: settled from its fills</b>\n${summary}`);
    expect(eventNotification(event('order.settled_absent'), { ...settings, riskTriggered: 'off' })).to.equal(
      undefined,
    );
  });

  it('a position larger than the account holds is a risk alert with its own title', () => {
    const n = eventNotification(
      event('position.shortfall', {
        summary: "BNB/USDT: the account holds 19.95 BNB, the bot's position is 20",
      }),
      settings,
    )!;
    expect(n.priority).to.equal('high');
    expect(n.text).to.contain('Account holds less than the position').and.contain('holds 19.95 BNB');
    expect(
      eventNotification(event('position.shortfall'), { ...settings, positionClosed: 'off' }),
    ).to.not.equal(undefined);
    expect(eventNotification(event('position.shortfall'), { ...settings, riskTriggered: 'off' })).to.equal(
      undefined,
    );
  });

  it('notifies a refusal once: the same refusal repeated on the symbol stays in the log only', () => {
    expect(eventNotification(event('order.rejected', { data: { repeated: false } }), settings)).to.not.equal(
      undefined,
    );
    expect(eventNotification(event('order.rejected', { data: { repeated: true } }), settings)).to.equal(
      undefined,
    );
  });

  it('escapes the summary, shows PnL of a closed position, and marks persist failures critical', () => {
    const n = eventNotification(event('position.closed', { data: { realizedPnl: -3.5 } }), settings)!;
    expect(n.text).to.contain('&lt;filled&gt;');
    expect(n.text).to.contain('PnL: <b>-3.50</b>');
    expect(eventNotification(event('persist.failed'), settings)!.priority).to.equal('critical');
  });

  it('summarises a recovery event', () => {
    const n = eventNotification(
      event('recovery', {
        data: {
          lastExit: { kind: 'killed' },
          restoredOrders: 2,
          restoredPositions: 1,
          changedWhileDown: [{ clientOrderId: 'b-1', from: 'open', to: 'filled' }],
          resolvedUnknown: [{ clientOrderId: 'b-2', found: true }],
          adopted: [],
          cancelledUnknown: [],
          newFills: 3,
          durationMs: 120,
        },
      }),
      settings,
    )!;
    expect(n.text).to.contain('last run: killed');
    expect(n.text).to.contain('restored 2 open orders, 1 open position');
    expect(n.text).to.contain('b-1 open→filled');
    expect(n.text).to.contain('new fills: 3');
  });
});
