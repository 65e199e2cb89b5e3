import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Where the machine's CPU goes during a benchmark window, from Linux's own accounting (/proc):
 * the hub's event loop (its main thread), the hub's other threads (parse workers, libuv's pool,
 * V8's helpers), this benchmark process (the simulated counters), and everything else (a
 * PostgreSQL server, the kernel's own work). On a 2-core machine a latency goal depends on how
 * much of the two cores is left, which a rate alone does not show. Null where /proc is missing.
 */
export interface CpuSnapshot {
  atMs: number;
  hubMain: number;
  hubOther: number;
  self: number;
  /** All CPUs, busy time (everything but idle and iowait). */
  machineBusy: number;
}

const TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of one /proc stat line, in ticks (fields 14 and 15, after the command's parentheses). */
function ticksOf(statLine: string): number {
  const rest = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

function processTicks(pid: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let line: string;
    try {
      line = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // a thread that ended between the listing and the read
    }
    if (Number(tid) === pid) main += ticksOf(line);
    else other += ticksOf(line);
  }
  return { main, other };
}

function machineBusyTicks(): number {
  const cpu =
    readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal …: busy is all but idle (3) and iowait (4).
  return cpu.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0);
}

export function cpuSnapshot(hubPid: number): CpuSnapshot | null {
  try {
    const hub = processTicks(hubPid);
    const self = processTicks(process.pid);
    return {
      atMs: performance.now(),
      hubMain: hub.main,
      hubOther: hub.other,
      self: self.main + self.other,
      machineBusy: machineBusyTicks(),
    };
  } catch {
    return null;
  }
}

/** One line for the benchmark's output: shares of one core (100 % = one core busy). */
export function describeCpu(from: CpuSnapshot | null, to: CpuSnapshot | null, ratings: number): string {
  if (!from || !to) return 'CPU accounting: not available here (no /proc)';
  const seconds = (to.atMs - from.atMs) / 1000;
  const pct = (ticks: number) => (ticks / TICKS_PER_S / seconds) * 100;
  const main = pct(to.hubMain - from.hubMain);
  const other = pct(to.hubOther - from.hubOther);
  const self = pct(to.self - from.self);
  const busy = pct(to.machineBusy - from.machineBusy);
  const rest = Math.max(0, busy - main - other - self);
  const hubUsPerRating =
    (((to.hubMain - from.hubMain + to.hubOther - from.hubOther) / TICKS_PER_S) * 1e6) / ratings;
  return (
    `CPU over the load (${seconds.toFixed(1)} s, % of one core): hub event loop ${main.toFixed(0)} %, ` +
    `hub other threads ${other.toFixed(0)} %, counters (this process) ${self.toFixed(0)} %, rest ${rest.toFixed(0)} %; ` +
    `busy ${busy.toFixed(0)} % of ${availableParallelism() * 100} %; hub CPU ${hubUsPerRating.toFixed(0)} µs per rating`
  );
}
