import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { PARSE_OPTIONS } from './limits';

export type Checked = { document: DocumentNode } | { errors: readonly GraphQLError[] };

/** Query text kept in the cache at most, in UTF-16 code units (a real client's operations take a few KB). */
const DEFAULT_BUDGET = 256 * 1024;
/** A longer query is checked every time, never kept: no real subscription is that long. */
const LONGEST_CACHED = 8 * 1024;

/**
 * Parsed and validated operations by query text. Thousands of fans subscribe with the same
 * query: they share one AST (memory per subscription) and skip re-validation (CPU per subscribe).
 * Bounded by the text it keeps, not by entries: an AST keeps every token of its text (its locations
 * link them all), tens of bytes each, so a thousand 100 KB queries sent by anyone with a socket
 * would otherwise pin gigabytes.
 */
export class DocumentCache {
  private readonly entries = new Map<string, Checked>();
  private kept = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: readonly ValidationRule[],
    private readonly budget = DEFAULT_BUDGET,
  ) {}

  check(query: string): Checked {
    const cached = this.entries.get(query);
    if (cached) return cached;
    const checked = this.compute(query);
    if (query.length > LONGEST_CACHED) return checked;
    // Oldest-first eviction (Map keeps insertion order).
    for (const oldest of this.entries.keys()) {
      if (this.kept + query.length <= this.budget) break;
      this.entries.delete(oldest);
      this.kept -= oldest.length;
    }
    this.entries.set(query, checked);
    this.kept += query.length;
    return checked;
  }

  /** Query text kept, in UTF-16 code units. */
  get size(): number {
    return this.kept;
  }

  private compute(query: string): Checked {
    let document: DocumentNode;
    try {
      document = parse(query, PARSE_OPTIONS);
    } catch (error) {
      return { errors: [new GraphQLError(error instanceof Error ? error.message : 'Syntax error', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
    }
    let errors: readonly GraphQLError[];
    try {
      errors = validate(this.schema, document, this.rules);
    } catch (error) {
      // graphql-js throws instead of answering for a subscription whose root field a non-null variable
      // skips (SingleFieldSubscriptionsRule evaluates the directive without variables): one bad
      // document must fail alone, not close the socket with every subscription on it. Anything else
      // thrown (a bug in a rule of ours) stays an internal error.
      if (!(error instanceof GraphQLError)) throw error;
      errors = [error];
    }
    if (errors.length > 0) return { errors: errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) };
    return { document };
  }
}
