/** Exit codes of the resident process (resident-host.ts), which the command that started it reads. */
export const RESIDENT_EXIT = {
  /** It stopped cleanly, or another resident already serves the data directory. */
  done: 0,
  /** It could not open the database; the command opens it in-process and reports why. */
  failed: 1,
  /** Another process (a command with the resident off) held the lock beyond the wait. */
  locked: 75,
} as const
