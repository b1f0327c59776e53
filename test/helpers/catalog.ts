// A comparable description of a database schema (tables, columns, constraints, indexes,
// enums) read from the PostgreSQL catalog, for proving two databases have the same schema.
import type { SqlSession } from '../../src/db/client.ts';

export async function describeSchema(session: SqlSession): Promise<Record<string, string[]>> {
  const rows = async (sql: string) => (await session.query<{ line: string }>(sql)).map((r) => r.line).sort();
  return {
    columns: await rows(`
      SELECT table_name || '.' || column_name || ' ' || data_type || COALESCE('(' || character_maximum_length || ')', '')
        || ' ' || udt_name || ' nullable=' || is_nullable || ' default=' || COALESCE(column_default, '-') AS line
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`),
    constraints: await rows(`
      SELECT rel.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid) AS line
      FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid JOIN pg_namespace n ON n.oid = rel.relnamespace
      WHERE n.nspname = 'public' AND rel.relname <> '_prisma_migrations'`),
    indexes: await rows(
      `SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`,
    ),
    enums: await rows(`
      SELECT t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS line
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`),
  };
}
