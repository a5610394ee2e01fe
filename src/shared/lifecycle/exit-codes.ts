/** Process exit codes every part of ByNinja (and PM2's `stop_exit_codes`) relies on. */
export const ExitCode = {
  /** Clean stop. PM2 also reports a death by signal as 0: never treat 0 as clean on its own. */
  Ok: 0,
  /** Crash: PM2 restarts the process. */
  Crash: 1,
  /** Another live instance holds the service lock, and with it the state (BSD EX_TEMPFAIL). */
  LockHeld: 75,
  /** Configuration error (BSD EX_CONFIG); listed in stop_exit_codes so PM2 does not restart-loop it. */
  Config: 78,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
