import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds a lock or wrote a temporary file. A bare pid is not enough: pids are reused, so a file
 * left by a killed run could name a live, unrelated process. The start time of the process (from
 * /proc/<pid>/stat, Linux) tells the two apart; the host says whether the pid can be checked at all.
 */
export interface Holder {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); null where /proc is not available. */
  start_time: string | null;
  host: string;
  /** Random, per process: two holders with equal pid and start time still differ. */
  token: string;
}

/** Field 22 (starttime) of /proc/<pid>/stat, or null when it cannot be read. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // fields[0] is field 3 (state), so field 22 is fields[19]
  } catch {
    return null;
  }
}

let self: Holder | null = null;
/** This process's identity. */
export function currentHolder(): Holder {
  self ??= { pid: process.pid, start_time: processStartTime(process.pid), host: hostname(), token: randomBytes(8).toString('hex') };
  return self;
}

export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** 'alive', 'dead', or 'unknown' (another host: its pids cannot be checked from here). */
export function holderState(h: Pick<Holder, 'pid' | 'start_time' | 'host'>): 'alive' | 'dead' | 'unknown' {
  if (h.host !== hostname()) return 'unknown';
  if (!pidExists(h.pid)) return 'dead';
  if (h.start_time === null) return 'alive'; // recorded without /proc: the pid is all there is
  const now = processStartTime(h.pid);
  return now === null || now === h.start_time ? 'alive' : 'dead';
}
