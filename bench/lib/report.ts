type Status = 'pass' | 'miss' | 'info' | 'error';

/** One line of the results table. */
export interface Row {
  scenario: string;
  metric: string;
  result: string;
  baseline: string;
  ratio: string;
  goal: string;
  status: Status;
}

export const row = (r: Partial<Row> & Pick<Row, 'scenario' | 'metric'>): Row => ({ result: '', baseline: '', ratio: '', goal: '', status: 'info', ...r });

/** The row for a scenario that failed, so the table still says why. */
export const errorRow = (scenario: string, why: string): Row => row({ scenario, metric: '—', result: `error: ${why}`, status: 'error' });

/** A ratio row: `result / baseline` must be at least (or at most) `goal`. */
export function ratioStatus(ratio: number, goal: number, direction: 'atLeast' | 'atMost'): Status {
  if (!Number.isFinite(ratio)) return 'miss';
  return (direction === 'atLeast' ? ratio >= goal : ratio <= goal) ? 'pass' : 'miss';
}

const COLUMNS: [keyof Row, string][] = [
  ['scenario', 'scenario'],
  ['metric', 'metric'],
  ['result', 'result'],
  ['baseline', 'baseline (same run)'],
  ['ratio', 'ratio'],
  ['goal', 'goal'],
  ['status', 'pass/miss'],
];

const cell = (r: Row, key: keyof Row) => (key === 'status' ? (r.status === 'info' ? '' : r.status) : r[key]);

/** The table as aligned plain text, for the terminal. */
export function textTable(rows: Row[]): string {
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...rows.map((r) => cell(r, key).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(COLUMNS.map(([, title]) => title)), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(COLUMNS.map(([key]) => cell(r, key))))].join('\n');
}

/** The table as GitHub markdown, for the report (bench/last-run.md), from which bench/results.md and the README take it. */
export function markdownTable(rows: Row[]): string {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${COLUMNS.map(([key]) => escape(cell(r, key)) || ' ').join(' | ')} |`),
  ].join('\n');
}
