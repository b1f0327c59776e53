import { defineConfig } from 'prisma/config';

// No datasource URL here: Weft connects through driver adapters at run time
// (src/db/client.ts) and applies migrations with its own migrator (src/db/migrate.ts).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
