/** A User Timing mark, once per page load: when the first render happened (read by the browser test). */
export function markOnce(name: string): void {
  if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}
