// Runs `prisma generate` without Prisma's native schema engine, which cannot be downloaded
// here. Generate never uses the engine; the CLI only checks that the configured path is an
// executable, so any executable (this Node binary) satisfies it. See ENGINEERING.md §3.
import { spawnSync } from 'node:child_process';

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
const result = spawnSync('prisma', ['generate'], { stdio: ['ignore', 'inherit', 'inherit'], env, shell: false });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
