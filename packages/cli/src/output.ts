// What the CLI prints: tables for people, JSON for scripts (--json), and errors in words with
// their code (a stack trace only with WEFT_DEBUG=1).
import pc from 'picocolors';
import { WeftError } from '@weft/client';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain-text table: a header row and aligned columns (no borders, easy to grep). */
export function printTable(headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = rows.map((row) => row.map((cell) => (cell == null || cell === '' ? '-' : String(cell))));
  // Widths of what is seen: colour escapes take no room on the screen.
  const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => visible(row[i]!))));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell)))).join('  ');
  process.stdout.write(`${pc.bold(line(headers))}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
}

/** Key: value lines, aligned. */
export function printFields(fields: [string, unknown][]): void {
  const width = Math.max(...fields.map(([key]) => key.length));
  for (const [key, value] of fields) {
    const text =
      value == null || value === '' ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    process.stdout.write(`${pc.dim(`${key}:`.padEnd(width + 1))} ${text}\n`);
  }
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null) return '';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1_000)}s`;
}

export function colorStatus(status: string | null | undefined): string {
  if (!status) return '-';
  if (status === 'COMPLETED') return pc.green(status);
  if (status === 'FAILED') return pc.red(status);
  if (status === 'CANCELLED') return pc.yellow(status);
  return pc.cyan(status);
}

/** A step or run error ({ message, … } or anything) in one line. */
export function errorText(error: unknown): string {
  if (error == null) return '';
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return JSON.stringify(error);
}

/** Prints an error for a person (code, message, every problem) and returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof WeftError) {
    process.stderr.write(`${pc.red('error')} [${error.code}]: ${error.message}\n`);
    for (const problem of error.problems ?? []) {
      process.stderr.write(`  - ${problem.path.join('.')}: ${problem.message}\n`);
    }
  } else {
    process.stderr.write(`${pc.red('error')}: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  if (process.env.WEFT_DEBUG === '1' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return 1;
}
