/**
 * How `promise` ended within `ms`: fulfilled, rejected, or still pending then (late; it goes on, its
 * outcome unheard). The timer is cleared when it settles and never keeps the process alive.
 */
export function outcomeWithin(promise: Promise<unknown>, ms: number): Promise<'fulfilled' | 'rejected' | 'late'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
    timer.unref();
  });
  return Promise.race([promise.then(() => 'fulfilled' as const, () => 'rejected' as const), late]).finally(() => clearTimeout(timer));
}
