import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPubSub } from '@graphql-yoga/subscription';
import { printSchema } from 'graphql';
import { buildAppSchema } from './build';

/** The served schema as SDL: what `schema.graphql` at the repository root holds (`npm run schema`). */
export async function printAppSchema(): Promise<string> {
  return `${printSchema(await buildAppSchema(createPubSub()))}\n`;
}

if (require.main === module) {
  const target = path.resolve(process.argv[2] ?? 'schema.graphql');
  printAppSchema().then(
    (sdl) => writeFileSync(target, sdl),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
