import { Migration20261124035508 } from './Migration20261124035508';
import { Migration20261124054500 } from './Migration20261124054500';
import { Migration20261201120000 } from './Migration20261201120000';
import { Migration20261210100000 } from './Migration20261210100000';
import { Migration20261210120000 } from './Migration20261210120000';
import { Migration20261212100000 } from './Migration20261212100000';
import { Migration20261213100000 } from './Migration20261213100000';
import { Migration20261214100000 } from './Migration20261214100000';
import { Migration20261215100000 } from './Migration20261215100000';
import { Migration20261216100000 } from './Migration20261216100000';
import { Migration20261217100000 } from './Migration20261217100000';
import { Migration20261218100000 } from './Migration20261218100000';

/** Every migration, in order. Listed explicitly so the compiled app and the TS test runner find the same set. */
export const migrationsList = [
  { name: 'Migration20261124035508', class: Migration20261124035508 },
  { name: 'Migration20261124054500', class: Migration20261124054500 },
  { name: 'Migration20261201120000', class: Migration20261201120000 },
  { name: 'Migration20261210100000', class: Migration20261210100000 },
  { name: 'Migration20261210120000', class: Migration20261210120000 },
  { name: 'Migration20261212100000', class: Migration20261212100000 },
  { name: 'Migration20261213100000', class: Migration20261213100000 },
  { name: 'Migration20261214100000', class: Migration20261214100000 },
  { name: 'Migration20261215100000', class: Migration20261215100000 },
  { name: 'Migration20261216100000', class: Migration20261216100000 },
  { name: 'Migration20261217100000', class: Migration20261217100000 },
  { name: 'Migration20261218100000', class: Migration20261218100000 },
];
