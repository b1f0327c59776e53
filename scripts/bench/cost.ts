// What a unit of work costs, as the benchmarks report it (ENGINEERING.md §7): CPU of a process
// and of PostgreSQL (every postgres process on this machine, from /proc — the database runs
// beside the benchmark here), and transactions from pg_stat_database.
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux

function ticksOf(pid: string): { name: string; ticks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return { name: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null; // the process ended while we looked
  }
}

/** CPU time (user + system) of one process, in ms. */
export function processCpuMs(pid: number): number {
  return ((ticksOf(String(pid))?.ticks ?? 0) / CLOCK_TICKS) * 1000;
}

/** CPU time of every postgres process on this machine (backends, WAL writer, checkpointer), in ms. */
export function postgresCpuMs(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = ticksOf(entry);
    if (stat?.name.startsWith('postgres')) ticks += stat.ticks;
  }
  return (ticks / CLOCK_TICKS) * 1000;
}

/** Committed and rolled-back transactions of the current database so far. */
export async function transactionCount(query: (sql: string) => Promise<{ n: string | number | bigint }[]>) {
  const [row] = await query(
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(row?.n ?? 0);
}
