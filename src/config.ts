// The only reader of process.env. Every variable is documented in README.md (Configuration).
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),
  WEFT_DATA_DIR: z.string().min(1).default('./.weft/data'),
  WEFT_DB_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  WEFT_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WEFT_GRAPHIQL: bool.default(true),
  WEFT_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  WEFT_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
});

export type Config = {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  database: { kind: 'postgres'; url: string; poolMax: number; connectTimeoutMs: number } | { kind: 'pglite'; dataDir: string | null };
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  graphiql: boolean;
  shutdownTimeoutMs: number;
  maxBodyBytes: number;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, poolMax: e.WEFT_DB_POOL_MAX, connectTimeoutMs: e.WEFT_DB_CONNECT_TIMEOUT_MS }
      : { kind: 'pglite', dataDir: path.resolve(e.WEFT_DATA_DIR) },
    logLevel: e.LOG_LEVEL,
    graphiql: e.WEFT_GRAPHIQL,
    shutdownTimeoutMs: e.WEFT_SHUTDOWN_TIMEOUT_MS,
    maxBodyBytes: e.WEFT_MAX_BODY_BYTES,
  };
}
