// Where `weft login` keeps the server and the API key: $WEFT_CONFIG, else
// $XDG_CONFIG_HOME/weft/config.json, else ~/.config/weft/config.json. The file holds a
// credential, so it is written with mode 0600 (and chmod-ed, in case it already existed with
// a wider mode), in a directory created with 0700. WEFT_SERVER and WEFT_API_KEY, when set,
// take precedence over the file (for CI jobs that should not write one).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { WeftError } from '@weft/client';

export interface CliConfig {
  server: string;
  apiKey: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WEFT_CONFIG) return path.resolve(env.WEFT_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'weft', 'config.json');
}

export function readConfigFile(file = configPath()): Partial<CliConfig> | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CliConfig>;
    return parsed && typeof parsed === 'object' ? parsed : null;
  } catch {
    throw new WeftError('BAD_CONFIG', `${file} is not valid JSON; run \`weft login\` again`);
  }
}

/** The server and key to use: WEFT_SERVER / WEFT_API_KEY, else the config file; fails with UNAUTHENTICATED when neither says. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const file = readConfigFile(configPath(env));
  const server = env.WEFT_SERVER || file?.server;
  const apiKey = env.WEFT_API_KEY || file?.apiKey;
  if (!server || !apiKey)
    throw new WeftError(
      'UNAUTHENTICATED',
      `Not logged in: run \`weft login --server <url> --api-key <key>\` (or set WEFT_SERVER and WEFT_API_KEY)`,
    );
  return { server, apiKey };
}

export function writeConfig(config: CliConfig, file = configPath()): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Write a sibling and rename it over the file: a crash never leaves half a config, and the
  // key is never readable by others, not even for an instant.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
  return file;
}
