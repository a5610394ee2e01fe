/**
 * Test-only crash points in the order life, as decorators around the ports the order manager writes through: the
 * process SIGKILLs itself the first time an order reaches `step`, seen from outside the engine —
 *
 * - before-intent-commit  a commit is about to make a new intent durable (killed before it is written);
 * - after-intent-commit   that commit is durable, the create not sent;
 * - after-create          the exchange answered the create, the answer not committed;
 * - after-fill            a commit is about to record new fills (killed before it is written);
 * - before-events         an order change and its events are durable, the events not yet in the event log.
 *
 * Wired only by the test daemon (harness/daemons/trading.ts, env BYNINJA_TEST_CRASH_AT).
 */
import fs from 'node:fs';
import type { TradingWiring } from '../../src/trading/daemon';
import type { StateStore } from '../../src/trading/engine/state/state-gateway';
import type { TradingState } from '../../src/trading/engine/state/trading-state';
import type { Exchange } from '../../src/trading/exchange/exchange';

export const CRASH_STEPS = [
  'before-intent-commit',
  'after-intent-commit',
  'after-create',
  'after-fill',
  'before-events',
] as const;
export type CrashStep = (typeof CRASH_STEPS)[number];

export function parseCrashStep(value: string): CrashStep {
  if (!(CRASH_STEPS as readonly string[]).includes(value)) {
    throw new RangeError(`BYNINJA_TEST_CRASH_AT must be one of ${CRASH_STEPS.join(', ')} (got ${value})`);
  }
  return value as CrashStep;
}

function kill(step: CrashStep): never {
  // written synchronously: process.stderr to a pipe is asynchronous, and the SIGKILL below could drop the line
  fs.writeSync(2, `test hook: SIGKILL at ${step}\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILLed');
}

/** What a commit would change, seen by applying it to a copy first. */
function changes(before: TradingState, mutate: (d: TradingState) => void) {
  const after = structuredClone(before);
  mutate(after);
  const orders = Object.values(after.orders);
  return {
    newIntent: orders.some((o) => o.status === 'intent' && !before.orders[o.clientOrderId]),
    newFills: orders.some((o) => {
      const was = before.orders[o.clientOrderId];
      return !!was && o.fills.length > was.fills.length;
    }),
    newEvents: after.outbox.length > before.outbox.length,
  };
}

/** The decorators that kill the process at `step`. */
export function crashPoints(step: CrashStep): TradingWiring {
  return {
    wrapStore: (store: StateStore): StateStore => ({
      get data() {
        return store.data;
      },
      get version() {
        return store.version;
      },
      change: (mutate) => store.change(mutate),
      flush: () => store.flush(),
      commit: (mutate) => {
        if (!mutate) return store.commit();
        const c = changes(store.data, mutate);
        if (step === 'before-intent-commit' && c.newIntent) kill(step);
        if (step === 'after-fill' && c.newFills) kill(step);
        const write = store.commit(mutate);
        const after =
          (step === 'after-intent-commit' && c.newIntent) || (step === 'before-events' && c.newEvents);
        return after ? write.then(() => kill(step)) : write;
      },
    }),
    wrapExchange: (exchange: Exchange): Exchange =>
      step !== 'after-create'
        ? exchange
        : new Proxy(exchange, {
            get(target, prop, receiver) {
              const value = Reflect.get(target, prop, receiver) as unknown;
              if (prop !== 'createOrder' || typeof value !== 'function') {
                return typeof value === 'function' ? value.bind(target) : value;
              }
              return async (...args: unknown[]) => {
                await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
                kill(step);
              };
            },
          }),
  };
}
