/**
 * Fault injection for the crash-consistency tests: when FPC_CRASH_POINT names this point, the
 * process kills itself (SIGKILL: no cleanup, no flush), exactly as a power cut would stop it there.
 * Unset in every real deployment, it costs one string comparison.
 */
export function crashPoint(name: string): void {
  if (process.env.FPC_CRASH_POINT === name) process.kill(process.pid, 'SIGKILL');
}
