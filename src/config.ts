// The only reader of process.env. Every variable is documented in README.md (Configuration).
import path from 'node:path';
import { z } from 'zod';
import type { TracingConfig } from './observability/tracing.ts';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Where `npm install` builds the browser apps (web/dist of this installation). */
export const DEFAULT_WEB_DIR = path.resolve(import.meta.dirname, '../web/dist');

export const ROLES = ['all', 'serve', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Variable names a script step's `env` may set when its workflow has a command allowlist: the
 * locale and time zone (data, not code, for the programs that read them), and a prefix no program
 * gives a meaning to, for passing values to the script. Everything else is refused, because a
 * variable can change what an allowed command does (GIT_CONFIG_*, LD_PRELOAD, PYTHONSTARTUP…).
 */
export const DEFAULT_SCRIPT_ENV_ALLOW = 'LANG,LC_ALL,TZ,WEFT_VAR_*';
/** An exact variable name, or a prefix ending in `*`. */
const ENV_ALLOW_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

const envSchema = z.object({
  WEFT_ROLE: z.enum(ROLES).default('all'),
  // Secure by default: error details reach clients only when an operator asks for development.
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  WEFT_PUBLIC_URL: z
    .string()
    .url()
    .regex(/^https?:\/\//, 'must be an http(s) URL')
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),
  WEFT_HOME: z.string().min(1).default('./.weft'),
  WEFT_DATA_DIR: z.string().min(1).optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  WEFT_REDIS_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  // Names every key and channel: deployments sharing one Redis must each have their own.
  WEFT_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'letters, digits and : _ . - only (at most 64)')
    .default('weft:'),
  WEFT_DB_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  WEFT_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WEFT_GRAPHIQL: bool.default(true),
  WEFT_MONITOR: bool.default(true),
  WEFT_WEB_DIR: z.string().min(1).optional(),
  WEFT_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  WEFT_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  WEFT_MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).default(1_073_741_824),
  WEFT_WORKSPACE_QUOTA_BYTES: z.coerce.number().int().min(0).optional(),
  WEFT_FILES_DIR: z.string().min(1).optional(),
  WEFT_FILES_GC_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  WEFT_S3_ENDPOINT: z.string().url().optional(),
  WEFT_S3_BUCKET: z.string().min(3).max(63).optional(),
  WEFT_S3_REGION: z.string().min(1).default('us-east-1'),
  WEFT_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  WEFT_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  WEFT_S3_FORCE_PATH_STYLE: bool.default(true),
  WEFT_S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_.-]+\/)*$/, 'empty, or path segments each ending in /')
    .default(''),
  WEFT_MAX_CONCURRENT_RUNS: z.coerce.number().int().min(1).max(100_000).default(10),
  WEFT_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(50),
  WEFT_ENGINE_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  WEFT_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  WEFT_STEP_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(30_000),
  WEFT_SCRIPTS_ENABLED: bool.default(false),
  WEFT_SCRIPTS_NETWORK: z.enum(['none', 'outbound']).default('none'),
  WEFT_SCRIPT_ENV_ALLOW: z
    .string()
    .default(DEFAULT_SCRIPT_ENV_ALLOW)
    .transform((v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .refine(
      (names) => names.every((name) => ENV_ALLOW_ENTRY.test(name)),
      'must be a comma-separated list of variable names, each optionally ending in * (a prefix)',
    ),
  WEFT_BWRAP_PATH: z.string().startsWith('/', 'must be an absolute path').optional(),
  WEFT_OUTBOUND_ALLOW: z.string().default(''),
  WEFT_SECRETS_KEY: z.string().min(1).optional(),
  WEFT_AGENT_BASE_URL: z.string().url().optional(),
  WEFT_AGENT_API_KEY: z.string().min(1).optional(),
  WEFT_AGENT_MODEL: z.string().min(1).optional(),
  WEFT_MAX_RESPONSE_BYTES: z.coerce.number().int().min(1024).max(104_857_600).default(10_485_760),
  WEFT_MAX_QUERY_DEPTH: z.coerce.number().int().min(1).max(100).default(15),
  WEFT_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(30),
  WEFT_MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(5000),
  WEFT_MAX_QUERY_COST: z.coerce.number().int().min(100).max(10_000_000).default(50_000),
  WEFT_INTROSPECTION: bool.default(true),
  WEFT_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(10_000).default(100),
  WEFT_WS_KEEPALIVE_MS: z.coerce.number().int().min(1000).max(600_000).default(12_000),
  WEFT_RUN_UPDATED_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  WEFT_STEP_LOG_FLUSH_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  WEFT_WS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1024).default(4_194_304),
  WEFT_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (HS256 needs a 256-bit secret)').optional(),
  WEFT_JWT_JWKS: z.string().min(1).optional(),
  WEFT_JWT_ISSUER: z.string().min(1).optional(),
  WEFT_JWT_AUDIENCE: z.string().min(1).optional(),
  WEFT_ADMIN_API_KEY: z
    .string()
    .regex(
      /^weft_live_[A-Za-z0-9_-]{32,}$/,
      'must look like weft_live_ followed by at least 32 letters, digits, - or _',
    )
    .optional(),
  WEFT_ADMIN_KEY_FILE: z.string().min(1).optional(),
  WEFT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(1200),
  WEFT_API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  WEFT_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(200),
  WEFT_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WEFT_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WEFT_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WEFT_METRICS_WORKFLOW_LABEL: bool.default(false),
  WEFT_METRICS_LABEL_CAP: z.coerce.number().int().min(1).max(10_000).default(100),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().optional(),
  // Weft sends OTLP/HTTP with JSON bodies; http/protobuf is accepted as a name (collectors take both on /v1/traces).
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/json', 'http/protobuf']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('weft'),
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(0).max(600_000).default(5000),
});

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value,key2=value2`, values URL-encoded (the OpenTelemetry spec). */
function otlpHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

export type Config = {
  /** all: API and worker (the default); serve: API only; worker: executes steps and schedules. */
  role: Role;
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** The origin clients reach this server at (WEFT_PUBLIC_URL), for the URLs Weft hands out; null: the listening address. */
  publicUrl: string | null;
  database:
    | { kind: 'postgres'; url: string; poolMax: number; connectTimeoutMs: number }
    | { kind: 'pglite'; dataDir: string | null };
  /**
   * Weft's own directory (WEFT_HOME): the embedded database by default, the generated secrets key
   * and the first admin key live here, never in a directory other programs or instances share.
   */
  home: string;
  /** The generated key for workspace secrets when WEFT_SECRETS_KEY is unset (embedded database only). */
  secretsKeyFile: string | null;
  /** Key for workspace secrets (32 bytes, hex or base64); unset: a generated key file for the embedded database. */
  secretsKey: string | null;
  /** Fan-out of run events across processes; null: in-process only. */
  redisUrl: string | null;
  /** How long start-up waits for Redis before giving up with an error. */
  redisConnectTimeoutMs: number;
  /** Prefix of every Redis key and channel Weft uses (WEFT_REDIS_PREFIX). */
  redisPrefix: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  graphiql: boolean;
  /** The browser apps: the run monitor at / (when `monitor`), and the playground GraphiQL serves; `dir` holds their build. */
  web: { monitor: boolean; dir: string };
  shutdownTimeoutMs: number;
  maxBodyBytes: number;
  files: FilesConfig;
  engine: {
    maxConcurrentRuns: number;
    workerConcurrency: number;
    pollIntervalMs: number;
    leaseMs: number;
    schedulerIntervalMs: number;
  };
  limits: { maxDepth: number; maxAliases: number; maxTokens: number; maxCost: number; introspection: boolean };
  /** The live API: runUpdated coalescing, live step logs. */
  live: { runUpdatedIntervalMs: number; stepLogFlushMs: number };
  webSocket: {
    maxSubscriptionsPerConnection: number;
    keepAliveMs: number;
    maxBufferedBytes: number;
  };
  auth: {
    /** Bearer JWTs: verified with an HS256 secret or a JWKS (file path or https URL); null: JWTs are refused. */
    jwt: { secret: string | null; jwks: string | null; issuer: string; audience: string } | null;
    /** An admin API key for the default workspace, ensured on start (for deployments and tests). */
    adminApiKey: string | null;
    /** Where the first-start admin key is written (mode 0600); null: printed only. */
    adminKeyFile: string | null;
    /** Requests per minute per API key or user (token bucket); 0 turns rate limiting off. */
    rateLimitPerMinute: number;
    rateLimitBurst: number;
    /** How long an API key read is reused by this process (0: every request reads it); revocations elsewhere take effect within it. */
    apiKeyCacheMs: number;
  };
  observability: {
    metrics: {
      /** Bearer token for /metrics on the main port; null: not served there. */
      token: string | null;
      /** A listener of its own for /metrics (token asked only when set); null: none. */
      port: number | null;
      host: string;
      /** Label run and step metrics with the workflow id (at most labelCap values). */
      workflowLabel: boolean;
      labelCap: number;
    };
    tracing: TracingConfig;
  };
  steps: {
    /** Non-public destinations outbound requests may reach anyway (loopback, private, CIDRs, hosts). */
    outboundAllow: string[];
    scripts: ScriptSettings;
    agent: { baseUrl: string | null; apiKey: string | null; model: string | null };
    maxResponseBytes: number;
  };
};

/** Where uploads and attachments are kept, and the limits they are taken within. */
export interface FilesConfig {
  /** The local store's directory (WEFT_FILES_DIR, default WEFT_HOME/files); also the staging area of uploads in flight. */
  dir: string;
  /** An S3-compatible store (WEFT_S3_BUCKET set); null: the local directory. */
  s3: {
    endpoint: string | null;
    bucket: string;
    region: string;
    accessKeyId: string | null;
    secretAccessKey: string | null;
    forcePathStyle: boolean;
    prefix: string;
  } | null;
  maxUploadBytes: number;
  workspaceQuotaBytes: number | null;
  /** How often unreferenced objects are collected; 0: never (tests call it). */
  gcIntervalMs: number;
}

export interface ScriptSettings {
  /** WEFT_SCRIPTS_ENABLED: script steps run only when the server allows them. */
  enabled: boolean;
  /** none: no network at all; outbound: only through a proxy applying WEFT_OUTBOUND_ALLOW. */
  network: 'none' | 'outbound';
  /** With a command allowlist, the env names a step may set (exact names, or prefixes ending in *). */
  envAllow: string[];
  /** bubblewrap; null: looked up in the standard system directories. */
  bwrapPath: string | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment; throws a ConfigError naming every invalid variable. `role` (from the
 * command line: `weft serve|worker|all`) overrides WEFT_ROLE.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: { role?: string } = {}): Config {
  const parsed = envSchema.safeParse(overrides.role === undefined ? env : { ...env, WEFT_ROLE: overrides.role });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const jwtConfigured = !!(e.WEFT_JWT_SECRET || e.WEFT_JWT_JWKS);
  const problems: string[] = [];
  if (e.WEFT_JWT_SECRET && e.WEFT_JWT_JWKS) problems.push('  WEFT_JWT_SECRET and WEFT_JWT_JWKS: set one, not both');
  if (jwtConfigured && !e.WEFT_JWT_ISSUER)
    problems.push('  WEFT_JWT_ISSUER: required when JWTs are enabled (tokens from any other issuer are refused)');
  if (jwtConfigured && !e.WEFT_JWT_AUDIENCE)
    problems.push('  WEFT_JWT_AUDIENCE: required when JWTs are enabled (tokens for any other audience are refused)');
  // The embedded database belongs to one process, so there is nothing to split.
  if (e.WEFT_ROLE !== 'all' && !e.DATABASE_URL)
    problems.push(
      `  WEFT_ROLE: the role '${e.WEFT_ROLE}' needs PostgreSQL (DATABASE_URL); the embedded database runs only as 'all'`,
    );
  if (e.WEFT_S3_ENDPOINT && !e.WEFT_S3_BUCKET) problems.push('  WEFT_S3_BUCKET: required when WEFT_S3_ENDPOINT is set');
  if (!!e.WEFT_S3_ACCESS_KEY_ID !== !!e.WEFT_S3_SECRET_ACCESS_KEY)
    problems.push('  WEFT_S3_ACCESS_KEY_ID and WEFT_S3_SECRET_ACCESS_KEY: set both or neither');
  if (problems.length) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  const home = path.resolve(e.WEFT_HOME);
  const dataDir = e.DATABASE_URL ? null : path.resolve(e.WEFT_DATA_DIR ?? path.join(home, 'data'));
  return {
    role: e.WEFT_ROLE,
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.WEFT_PUBLIC_URL ?? null,
    database: e.DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.DATABASE_URL,
          poolMax: e.WEFT_DB_POOL_MAX,
          connectTimeoutMs: e.WEFT_DB_CONNECT_TIMEOUT_MS,
        }
      : { kind: 'pglite', dataDir: dataDir! },
    home,
    secretsKeyFile: dataDir ? path.join(home, 'secrets.key') : null,
    redisUrl: e.REDIS_URL ?? null,
    redisConnectTimeoutMs: e.WEFT_REDIS_CONNECT_TIMEOUT_MS,
    redisPrefix: e.WEFT_REDIS_PREFIX,
    secretsKey: e.WEFT_SECRETS_KEY ?? null,
    logLevel: e.LOG_LEVEL,
    graphiql: e.WEFT_GRAPHIQL,
    web: { monitor: e.WEFT_MONITOR, dir: e.WEFT_WEB_DIR ? path.resolve(e.WEFT_WEB_DIR) : DEFAULT_WEB_DIR },
    shutdownTimeoutMs: e.WEFT_SHUTDOWN_TIMEOUT_MS,
    maxBodyBytes: e.WEFT_MAX_BODY_BYTES,
    files: {
      dir: path.resolve(e.WEFT_FILES_DIR ?? path.join(home, 'files')),
      s3: e.WEFT_S3_BUCKET
        ? {
            endpoint: e.WEFT_S3_ENDPOINT ?? null,
            bucket: e.WEFT_S3_BUCKET,
            region: e.WEFT_S3_REGION,
            accessKeyId: e.WEFT_S3_ACCESS_KEY_ID ?? null,
            secretAccessKey: e.WEFT_S3_SECRET_ACCESS_KEY ?? null,
            forcePathStyle: e.WEFT_S3_FORCE_PATH_STYLE,
            prefix: e.WEFT_S3_PREFIX,
          }
        : null,
      maxUploadBytes: e.WEFT_MAX_UPLOAD_BYTES,
      workspaceQuotaBytes: e.WEFT_WORKSPACE_QUOTA_BYTES ?? null,
      gcIntervalMs: e.WEFT_FILES_GC_INTERVAL_MS,
    },
    engine: {
      maxConcurrentRuns: e.WEFT_MAX_CONCURRENT_RUNS,
      workerConcurrency: e.WEFT_WORKER_CONCURRENCY,
      pollIntervalMs: e.WEFT_ENGINE_POLL_MS,
      leaseMs: e.WEFT_STEP_LEASE_MS,
      schedulerIntervalMs: e.WEFT_SCHEDULER_INTERVAL_MS,
    },
    limits: {
      maxDepth: e.WEFT_MAX_QUERY_DEPTH,
      maxAliases: e.WEFT_MAX_ALIASES,
      maxTokens: e.WEFT_MAX_TOKENS,
      maxCost: e.WEFT_MAX_QUERY_COST,
      introspection: e.WEFT_INTROSPECTION,
    },
    live: { runUpdatedIntervalMs: e.WEFT_RUN_UPDATED_INTERVAL_MS, stepLogFlushMs: e.WEFT_STEP_LOG_FLUSH_MS },
    webSocket: {
      maxSubscriptionsPerConnection: e.WEFT_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      keepAliveMs: e.WEFT_WS_KEEPALIVE_MS,
      maxBufferedBytes: e.WEFT_WS_MAX_BUFFERED_BYTES,
    },
    auth: {
      jwt: jwtConfigured
        ? {
            secret: e.WEFT_JWT_SECRET ?? null,
            jwks: e.WEFT_JWT_JWKS ?? null,
            issuer: e.WEFT_JWT_ISSUER!,
            audience: e.WEFT_JWT_AUDIENCE!,
          }
        : null,
      adminApiKey: e.WEFT_ADMIN_API_KEY ?? null,
      adminKeyFile: e.WEFT_ADMIN_KEY_FILE
        ? path.resolve(e.WEFT_ADMIN_KEY_FILE)
        : dataDir
          ? path.join(home, 'admin-api-key')
          : null,
      rateLimitPerMinute: e.WEFT_RATE_LIMIT_PER_MINUTE,
      apiKeyCacheMs: e.WEFT_API_KEY_CACHE_MS,
      rateLimitBurst: e.WEFT_RATE_LIMIT_BURST,
    },
    observability: {
      metrics: {
        token: e.WEFT_METRICS_TOKEN ?? null,
        port: e.WEFT_METRICS_PORT ?? null,
        host: e.WEFT_METRICS_HOST,
        workflowLabel: e.WEFT_METRICS_WORKFLOW_LABEL,
        labelCap: e.WEFT_METRICS_LABEL_CAP,
      },
      tracing: {
        // Off unless asked for: an endpoint, or OTEL_TRACES_EXPORTER=otlp|console; `none` wins.
        exporter:
          e.OTEL_TRACES_EXPORTER === 'none'
            ? null
            : (e.OTEL_TRACES_EXPORTER ??
              (e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'otlp' : null)),
        url:
          e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
          `${(e.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`,
        headers: { ...otlpHeaders(e.OTEL_EXPORTER_OTLP_HEADERS), ...otlpHeaders(e.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
        serviceName: e.OTEL_SERVICE_NAME,
        scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
      },
    },
    steps: {
      outboundAllow: e.WEFT_OUTBOUND_ALLOW.split(',')
        .map((x) => x.trim())
        .filter(Boolean),
      scripts: {
        enabled: e.WEFT_SCRIPTS_ENABLED,
        network: e.WEFT_SCRIPTS_NETWORK,
        envAllow: e.WEFT_SCRIPT_ENV_ALLOW,
        bwrapPath: e.WEFT_BWRAP_PATH ?? null,
      },
      agent: {
        baseUrl: e.WEFT_AGENT_BASE_URL ?? null,
        apiKey: e.WEFT_AGENT_API_KEY ?? null,
        model: e.WEFT_AGENT_MODEL ?? null,
      },
      maxResponseBytes: e.WEFT_MAX_RESPONSE_BYTES,
    },
  };
}
