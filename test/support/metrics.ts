/** Reading a server's /metrics (Prometheus text) in tests. */

const scrape = async (graphqlUrl: string) => (await fetch(graphqlUrl.replace('/graphql', '/metrics'))).text();

function samplesIn(text: string, name: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) samples.set(match[1] ?? '', Number(match[2]));
  return samples;
}

const sumOf = (samples: Map<string, number>) => [...samples.values()].reduce((sum, value) => sum + value, 0);

/** Every sample of `name`, by its label set as written (`{concert="3"}`, or '' without labels). */
export async function metricSamples(graphqlUrl: string, name: string): Promise<Map<string, number>> {
  return samplesIn(await scrape(graphqlUrl), name);
}

/** The sum of `name` over its label sets. */
export async function metricSum(graphqlUrl: string, name: string): Promise<number> {
  return sumOf(await metricSamples(graphqlUrl, name));
}

/** The sums of several metrics read in one scrape, so no change lands between them. */
export async function metricSums(graphqlUrl: string, names: readonly string[]): Promise<number[]> {
  const text = await scrape(graphqlUrl);
  return names.map((name) => sumOf(samplesIn(text, name)));
}
