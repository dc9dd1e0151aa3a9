/** Milliseconds per unit of a duration like `1h30m`. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

const SEGMENT = /(\d+)(ms|s|m|h)/y;

/** What a duration looks like, for error messages. */
export const DURATION_HINT = 'expected a duration like 500ms, 60s, 5m, 1h or 1h30m';

/**
 * Parses a duration such as `60s`, `5m`, `1h`, `250ms` or `1h30m` into milliseconds; undefined
 * for anything else, including a bare number (seconds or milliseconds? better to ask) and zero.
 */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  SEGMENT.lastIndex = 0;
  let total = 0;
  while (SEGMENT.lastIndex < text.length) {
    const match = SEGMENT.exec(text);
    if (!match) return undefined;
    const [, amount = '', unit = 'ms'] = match;
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}
