import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';

export type Checked = { document: DocumentNode } | { errors: readonly GraphQLError[] };

/**
 * Parsed and validated operations by query text. Thousands of fans subscribe with the same
 * query: they share one AST (memory per subscription) and skip re-validation (CPU per subscribe).
 */
export class DocumentCache {
  private readonly entries = new Map<string, Checked>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: readonly ValidationRule[],
    private readonly capacity = 1000,
  ) {}

  check(query: string): Checked {
    const cached = this.entries.get(query);
    if (cached) return cached;
    const checked = this.compute(query);
    // Oldest-first eviction (Map keeps insertion order): enough to bound memory against odd clients.
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(query, checked);
    return checked;
  }

  private compute(query: string): Checked {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return { errors: [new GraphQLError(error instanceof Error ? error.message : 'Syntax error', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
    }
    const errors = validate(this.schema, document, this.rules);
    if (errors.length > 0) return { errors: errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) };
    return { document };
  }
}
