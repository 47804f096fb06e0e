import { readFileSync } from 'node:fs';

/** Peak resident set size of this process, from /proc/self/status (kB). */
export function peakRssKiB(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}
