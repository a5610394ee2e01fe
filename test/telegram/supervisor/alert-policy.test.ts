import { expect } from 'chai';
import {
  decide,
  describeLastRun,
  markHangRestart,
  markReady,
  onlineAlert,
  type WatchState,
} from '../../../src/telegram/supervisor/alert-policy';
import {
  nextRestartDelayMs,
  parseProcessEvent,
  type ProcessEvent,
} from '../../../src/telegram/supervisor/process-event';

const t0 = 1_700_000_000_000;

/** A packet as pm2 7 puts it on the bus (process = pm2_env without env). */
function packet(event: string, env: Record<string, unknown> = {}, manually = false) {
  return {
    event,
    manually,
    at: t0,
    process: {
      name: 'trading',
      pm_id: 0,
      status: 'stopped',
      restart_time: 3,
      unstable_restarts: 0,
      exit_code: 1,
      exp_backoff_restart_delay: 100,
      prev_restart_delay: 0,
      autorestart: true,
      stop_exit_codes: [78],
      pm_uptime: t0 - 65_000,
      ...env,
    },
  };
}

const ev = (event: string, env: Record<string, unknown> = {}, manually = false): ProcessEvent =>
  parseProcessEvent(packet(event, env, manually), t0)!;

describe('PM2 process events', () => {
  it('parses what the supervisor needs from a bus packet', () => {
    const e = ev('exit');
    expect(e).to.deep.include({
      event: 'exit',
      name: 'trading',
      status: 'stopped',
      restarts: 3,
      exitCode: 1,
      startedAt: t0 - 65_000,
    });
    expect(e.stopExitCodes).to.deep.equal([78]);
    expect(parseProcessEvent({ process: { name: 'x', pm_id: 1 } } as never, t0)).to.equal(undefined);
  });

  it('predicts the next restart delay of PM2’s exponential backoff', () => {
    expect(nextRestartDelayMs(ev('exit', { prev_restart_delay: 0 }))).to.equal(100);
    expect(nextRestartDelayMs(ev('exit', { prev_restart_delay: 100 }))).to.equal(150);
    expect(nextRestartDelayMs(ev('exit', { prev_restart_delay: 12_000 }))).to.equal(15_000);
    expect(nextRestartDelayMs(ev('exit', { exit_code: 78 }))).to.equal(undefined);
    expect(nextRestartDelayMs(ev('exit', { autorestart: false }))).to.equal(undefined);
  });
});

describe('alert policy', () => {
  it('reports a crash with exit code, how the run ended, restart number and next delay', () => {
    const state: WatchState = {};
    const d = decide(state, ev('exit', { prev_restart_delay: 100 }), {
      kind: 'crash',
      reason: 'Error: boom <x>',
    });
    expect(d.crashed).to.equal(true);
    expect(d.alerts).to.have.length(1);
    const a = d.alerts[0];
    expect(a).to.include({ key: 'crash:trading', priority: 'high' });
    expect(a.text).to.contain('trading crashed');
    expect(a.text).to.contain('exit code 1');
    expect(a.text).to.contain('Error: boom &lt;x&gt;');
    expect(a.text).to.contain('restart #4 in 150 ms');
    expect(a.text).to.contain('after 1 min up');
  });

  it('tells a SIGKILL (PM2 says code 0, no shutdown breadcrumb) from a clean exit', () => {
    const killed = decide({}, ev('exit', { exit_code: 0 }), { kind: 'killed', reason: 'no exit marker' })
      .alerts[0];
    expect(killed.text).to.contain('killed by a signal');
    expect(describeLastRun(undefined, 0)).to.contain('most likely killed by a signal');
  });

  it('a configuration-error exit (78) is critical, not restarted, and names the field to fix from the service’s record', () => {
    const failure = {
      pid: 7,
      at: t0,
      problems: [
        { field: 'trading.symbols (file /srv/c.json)', value: '"FOO/BAR"', message: 'no such market <x>' },
      ],
    };
    const a = decide({}, ev('exit', { exit_code: 78 }), { kind: 'crash' }, failure).alerts[0];
    expect(a.priority).to.equal('critical');
    expect(a.text).to.contain(
      '<b>trading stopped: configuration error</b> (exit 78) — PM2 will not restart it',
    );
    expect(a.text).to.contain('fix trading.symbols, then `npm start`');
    expect(a.text).to.contain('• trading.symbols (file /srv/c.json) = "FOO/BAR": no such market &lt;x&gt;');
    const unknown = decide({}, ev('exit', { exit_code: 78 })).alerts[0];
    expect(unknown.text).to.contain(
      'see `npx pm2 logs trading --err`, fix the setting it names, then `npm start`',
    );
  });

  it('an operator stop is one "stopped by an operator" alert, not a crash', () => {
    const state: WatchState = {};
    expect(
      decide(state, ev('exit', { status: 'stopping', exit_code: 0 }), { kind: 'clean' }).alerts,
    ).to.deep.equal([]);
    expect(
      decide(state, ev('exit', { status: 'stopped', exit_code: 0 }), { kind: 'clean' }).alerts,
    ).to.deep.equal([]);
    const stop = decide(state, ev('stop', {}, true));
    expect(stop.alerts[0].text).to.contain('stopped by an operator');
    expect(stop.crashed).to.equal(false);
  });

  it('a crash during an operator restart is still a crash', () => {
    const state: WatchState = {};
    decide(state, ev('exit', { status: 'stopping' }), undefined);
    decide(state, ev('exit', { status: 'stopped' }), undefined);
    const d = decide(state, ev('exit', { status: 'stopped', exit_code: 1 }), { kind: 'crash' });
    expect(d.crashed).to.equal(true);
  });

  it('online reports the outage with its cause and start; the outage ends only when the service is ready', () => {
    const state: WatchState = {};
    decide(state, ev('exit'), { kind: 'crash' });
    const d = decide(
      state,
      { ...ev('online', { status: 'online', restart_time: 4 }), at: t0 + 2_500 },
      undefined,
    );
    expect(d.online).to.deep.include({ service: 'trading', cause: 'crash', downSince: t0, restarts: 4 });
    expect(state.trading!.down).to.deep.include({ cause: 'crash', since: t0 });
    // it dies again while starting: still the same outage
    decide(state, { ...ev('exit'), at: t0 + 3_000 }, { kind: 'crash' });
    expect(state.trading!.down!.since).to.equal(t0);
    markReady(state, 'trading');
    expect(state.trading).to.deep.equal({});
    const a = onlineAlert({ ...d.online!, downMs: 2_500 }, 'restored 2 order(s)', 17);
    expect(a.text).to.contain('back online after a crash');
    expect(a.text).to.contain('down 2.5 s');
    expect(a.text).to.contain('restored 2 order(s)');
    expect(a.eventSeq).to.equal(17);
  });

  it('an operator restart comes online as a restart; PM2’s manual restart event confirms it', () => {
    const state: WatchState = {};
    decide(state, ev('exit', { status: 'stopping' }), undefined);
    decide(state, ev('exit', { status: 'stopped' }), undefined);
    expect(decide(state, ev('online', { status: 'online' })).online!.cause).to.equal('restart');
    expect(decide(state, ev('restart', {}, true)).operatorRestartConfirmed).to.equal(true);
  });

  it('restart overlimit is critical and its errored exit is not a second alert', () => {
    const state: WatchState = {};
    const over = decide(state, ev('restart overlimit', { status: 'errored', unstable_restarts: 15 }));
    expect(over.alerts[0]).to.include({ priority: 'critical' });
    expect(over.alerts[0].text).to.contain('15 unstable restarts');
    expect(decide(state, ev('exit', { status: 'errored' }), undefined).alerts).to.deep.equal([]);
  });

  it('a hang restart comes back online as recovery from a hang', () => {
    const state: WatchState = {};
    markHangRestart(state, 'trading', t0);
    decide(state, ev('exit', { status: 'stopping' }), undefined);
    decide(state, ev('exit', { status: 'stopped' }), undefined);
    expect(decide(state, ev('online', { status: 'online' })).online!.cause).to.equal('hang');
  });
});
