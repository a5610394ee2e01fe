/**
 * The loop's state as the status reply and /health report it, derived (pure): the loop stores only its phase,
 * and "paused" is read from the pause itself, so the two can never disagree (a pause set by a command, a kill
 * switch or a persist failure shows at once, not after the next tick).
 *
 *   starting → waiting-exchange → recovering → trading (running ⇄ paused) → stopping
 */
import type { LoopState } from '../../shared/ipc/protocol';

export type LoopPhase = 'starting' | 'waiting-exchange' | 'recovering' | 'trading' | 'stopping';

export function loopStateOf(phase: LoopPhase, paused: boolean): LoopState {
  if (phase !== 'trading') return phase;
  return paused ? 'paused' : 'running';
}
