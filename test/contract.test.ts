import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, findBreakingChanges } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { describe, expect, it } from 'vitest';
import { buildAppSchema } from '../src/schema/build';
import { printAppSchema } from '../src/schema/emit-schema';

const root = join(__dirname, '..');

describe('the served schema', () => {
  it('contains the whole contract (no breaking change)', async () => {
    // The repository's own copy of the contract: the part of the product plan that is built.
    const served = await buildAppSchema(createPubSub());
    const contract = buildSchema(readFileSync(join(root, 'contract/schema.graphql'), 'utf8'));
    expect(findBreakingChanges(contract, served).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });

  it('is what the committed schema.graphql says (else run `npm run schema`)', async () => {
    expect(await printAppSchema()).toBe(readFileSync(join(root, 'schema.graphql'), 'utf8'));
  });
});
