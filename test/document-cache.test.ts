import { buildSchema, specifiedRules } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DocumentCache } from '../src/schema/document-cache';

const schema = buildSchema('type Query { a: Int, b: Int }');

describe('DocumentCache (the WebSocket path: parsed and validated operations by text)', () => {
  it('shares one checked document among the callers of one query', () => {
    const cache = new DocumentCache(schema, specifiedRules);
    const first = cache.check('{ a }');
    expect(cache.check('{ a }')).toBe(first);
    expect(cache.check('{ b }')).not.toBe(first);
  });

  it('keeps no more query text than its budget, however many distinct queries arrive, the oldest going first', () => {
    const cache = new DocumentCache(schema, specifiedRules, 10_000);
    // 1,000 distinct ~1 KB queries: a million characters offered.
    const queries = Array.from({ length: 1000 }, (_, i) => `{ a ${' '.repeat(1000)} b # ${i}\n}`);
    const oldest = cache.check(queries[0]!);
    const checked = queries.map((query) => cache.check(query));
    expect(cache.size).toBeLessThanOrEqual(10_000);
    expect(cache.size).toBeGreaterThan(8_000);
    // The newest is still the document checked in the loop; the oldest was let go and is checked anew.
    expect(cache.check(queries.at(-1)!)).toBe(checked.at(-1));
    expect(cache.check(queries[0]!)).not.toBe(oldest);
  });

  it('never keeps a query too long for any real client (it is checked each time instead)', () => {
    const cache = new DocumentCache(schema, specifiedRules);
    const huge = `{ ${'a '.repeat(50_000)}}`;
    const first = cache.check(huge);
    expect(cache.check(huge)).not.toBe(first);
    expect(cache.size).toBe(0);
  });
});
