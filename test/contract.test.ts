import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, findBreakingChanges } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { describe, expect, it } from 'vitest';
import { buildAppSchema } from '../src/schema/build';

// The repository's own copy of the contract: the part of the product plan that is built.
const CONTRACT = join(__dirname, '../contract/schema.graphql');

describe('the served schema', () => {
  it('contains the whole contract (no breaking change)', async () => {
    const served = await buildAppSchema(createPubSub());
    const contract = buildSchema(readFileSync(CONTRACT, 'utf8'));
    expect(findBreakingChanges(contract, served).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });
});
