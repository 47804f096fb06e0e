/** Snapshots of how busy the machine is, so each figure records the load it was measured under. */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Conditions } from './results.js';

interface CpuTimes {
  busy: number;
  total: number;
}

/** All cores' busy and total jiffies from /proc/stat's first line, or null off Linux. */
function cpuTimes(): CpuTimes | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: idle and iowait are the not-busy ones.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - fields[3]! - fields[4]!, total };
  } catch {
    return null;
  }
}

/** Starts watching; the returned function gives the conditions since then. */
export function watchConditions(): () => Conditions {
  const loadBefore = loadavg();
  const before = cpuTimes();
  return () => {
    const after = cpuTimes();
    const cpuBusy = before && after && after.total > before.total ? (after.busy - before.busy) / (after.total - before.total) : null;
    return { loadBefore, loadAfter: loadavg(), cpuBusy };
  };
}
