/**
 * Restarting services through PM2, shared by the bot's /restart and `byninja restart`.
 * A service restarting itself (telegram from its own bot) never sees PM2's answer — the process is replaced
 * first — so `beforeSelfRestart` persists the request (the next boot confirms it) before PM2 is asked.
 */
import { NoAnswerYetError, OperationalError, errorMessage } from '../shared/errors';
import type { Pm2ProcessView } from './pm2-client';
import type { ServiceName } from './services';

export interface RestartDeps {
  pm2: { list(): Promise<Pm2ProcessView[]>; restart(name: string): Promise<void> };
  /** The caller's own service, if it is one of the targets' PM2 apps (telegram's bot); absent for the CLI. */
  self?: ServiceName;
  /** Runs just before PM2 is asked to restart `self` (writes the self-restart marker). */
  beforeSelfRestart?: () => Promise<void>;
  /**
   * A restart PM2 did not answer in time (`noAnswerYet`) and answered later: its outcome then. Without it a late
   * answer is not waited for (the CLI has exited).
   */
  onLate?: (outcome: RestartOutcome) => void;
}

export interface RestartOutcome {
  service: ServiceName;
  ok: boolean;
  /** PM2's restart counter before and after. */
  restartsBefore?: number;
  restartsAfter?: number;
  /** PM2 status after the restart. */
  status?: string;
  error?: string;
  /** PM2 did not answer within its deadline (Pm2Client actionTimeoutMs): it may still be restarting it. */
  noAnswerYet?: true;
}

/** Restarts each target in order; one failure does not stop the others. */
export async function restartServices(
  targets: readonly ServiceName[],
  deps: RestartDeps,
): Promise<RestartOutcome[]> {
  const outcomes: RestartOutcome[] = [];
  for (const service of targets) outcomes.push(await restartOne(service, deps));
  return outcomes;
}

async function restartOne(service: ServiceName, deps: RestartDeps): Promise<RestartOutcome> {
  let before: Pm2ProcessView | undefined;
  try {
    before = (await deps.pm2.list()).find((p) => p.name === service);
    if (!before)
      throw new OperationalError(`PM2 does not manage "${service}" (start it with npm start)`, { service });
    if (service === deps.self && deps.beforeSelfRestart) await deps.beforeSelfRestart();
    await deps.pm2.restart(service);
  } catch (err) {
    if (err instanceof NoAnswerYetError && before) {
      // PM2 may still do it: its answer, when it comes, is told as the outcome it would have been
      const asked = before;
      const onLate = deps.onLate;
      if (onLate)
        void err.late
          .then(
            () => settled(service, asked, deps),
            (lateErr: unknown): RestartOutcome => ({ service, ok: false, error: errorMessage(lateErr) }),
          )
          .then(onLate);
      return { service, ok: false, noAnswerYet: true, error: errorMessage(err) };
    }
    return { service, ok: false, error: errorMessage(err) };
  }
  return settled(service, before, deps);
}

/** The outcome once PM2 answered the restart: the app's status and restart counter now. */
async function settled(
  service: ServiceName,
  before: Pm2ProcessView,
  deps: RestartDeps,
): Promise<RestartOutcome> {
  try {
    const after = (await deps.pm2.list()).find((p) => p.name === service);
    return {
      service,
      ok: after?.status === 'online',
      restartsBefore: before.restarts,
      ...(after ? { restartsAfter: after.restarts, status: after.status } : {}),
      ...(after?.status === 'online' ? {} : { error: `status after restart: ${after?.status ?? 'gone'}` }),
    };
  } catch (err) {
    return { service, ok: false, restartsBefore: before.restarts, error: errorMessage(err) };
  }
}
