/** Reading a server's /metrics (Prometheus text) in tests. */

/** Every sample of `name`, by its label set as written (`{concert="3"}`, or '' without labels). */
export async function metricSamples(graphqlUrl: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(graphqlUrl.replace('/graphql', '/metrics'))).text();
  const samples = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) samples.set(match[1] ?? '', Number(match[2]));
  return samples;
}

/** The sum of `name` over its label sets. */
export async function metricSum(graphqlUrl: string, name: string): Promise<number> {
  return [...(await metricSamples(graphqlUrl, name)).values()].reduce((sum, value) => sum + value, 0);
}
