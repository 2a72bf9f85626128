import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, findBreakingChanges } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { describe, expect, it } from 'vitest';
import { buildAppSchema } from '../src/schema/build';

// The shared contract when this checkout sits beside it; otherwise the copy vendored with the tests.
const SHARED = join(__dirname, '../../shared/contract/schema.graphql');
const CONTRACT = existsSync(SHARED) ? SHARED : join(__dirname, 'fixtures/contract.graphql');

describe('the served schema', () => {
  it('contains the whole contract (no breaking change)', async () => {
    const served = await buildAppSchema(createPubSub());
    const contract = buildSchema(readFileSync(CONTRACT, 'utf8'));
    expect(findBreakingChanges(contract, served).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });
});
