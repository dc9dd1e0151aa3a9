/** One fault's line of the suite's table. */
export interface FaultRow {
  readonly fault: string;
  readonly requests: number;
  readonly clientErrors: number;
  /** Of the client errors, those that were not a clean 503/504 problem (or took too long). */
  readonly unclean: number;
  readonly accepted: number;
  readonly final: number;
  readonly lost: number;
  readonly doubleCharges: number;
  /** The stock drift found by the check after the row's group (the same for the group). */
  readonly stockDrift: number;
  /** From the restart to the first checkout accepted after it, in seconds. */
  readonly recoverSeconds: number;
}

const HEADERS = [
  'fault',
  'requests',
  'client errors',
  'orders accepted / final / lost',
  'double charges',
  'stock drift',
  'seconds to recover',
];

/** The suite's table as fixed-width text, one line per fault. */
export function formatTable(rows: readonly FaultRow[]): string {
  const cells = rows.map((row) => [
    row.fault,
    String(row.requests),
    row.unclean > 0
      ? `${String(row.clientErrors)} (${String(row.unclean)} unclean)`
      : String(row.clientErrors),
    `${String(row.accepted)} / ${String(row.final)} / ${String(row.lost)}`,
    String(row.doubleCharges),
    String(row.stockDrift),
    Number.isFinite(row.recoverSeconds) ? row.recoverSeconds.toFixed(1) : '-',
  ]);
  const widths = HEADERS.map((header, i) =>
    Math.max(header.length, ...cells.map((line) => line[i]?.length ?? 0)),
  );
  const line = (values: readonly string[]): string =>
    values
      .map((value, i) => (i === 0 ? value.padEnd(widths[i] ?? 0) : value.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
