// Loads Prisma's schema engine compiled to WebAssembly (an npm package), because the native
// engine that `prisma migrate` uses cannot be downloaded on our machines (ENGINEERING.md §3).
// Only `diff` is used: it turns two datamodels (or a live database and a datamodel) into SQL.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

type DiffTarget =
  | { tag: 'empty' }
  | { tag: 'schemaDatamodel'; files: { path: string; content: string }[] }
  | { tag: 'url'; url: string };

interface WasmSchemaEngine {
  diff(params: {
    from: DiffTarget;
    to: DiffTarget;
    script: boolean;
    exitCode: boolean | null;
    shadowDatabaseUrl: string | null;
    filters: { externalTables: string[]; externalEnums: string[] };
  }): Promise<{ exitCode: number; stdout: string | null }>;
  free(): void;
}

const require = createRequire(import.meta.url);

/** The engine wants a database connection even for a pure datamodel diff: an in-memory PGlite serves. */
export async function loadSchemaEngine(datamodel: { path: string; content: string }): Promise<WasmSchemaEngine> {
  const pkgDir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));
  const glue = await import(path.join(pkgDir, 'schema_engine_bg.js'));
  const wasmBytes = await readFile(path.join(pkgDir, 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(wasmBytes, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
  const adapterFactory = bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(new PGlite()) as never);
  return glue.SchemaEngine.new({ datamodels: [[datamodel.path, datamodel.content]] }, () => {}, adapterFactory);
}

/** SQL that turns the `from` datamodel (or an empty database) into the `to` datamodel. */
export async function diffDatamodels(engine: WasmSchemaEngine, from: string | null, to: string): Promise<string> {
  const result = await engine.diff({
    from:
      from === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: from }] },
    to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: to }] },
    script: true,
    exitCode: null,
    shadowDatabaseUrl: null,
    filters: { externalTables: [], externalEnums: [] },
  });
  return result.stdout ?? '';
}
