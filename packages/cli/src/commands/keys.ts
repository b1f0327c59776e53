// weft keys create|revoke
import type { Command } from 'commander';
import { WeftError } from '@weft/client';
import { connect } from '../context.ts';
import { CreateApiKeyDocument, RevokeApiKeyDocument } from '../operations-admin.ts';
import { printFields, printJson } from '../output.ts';

const PERMISSIONS = ['READ', 'WRITE', 'RUN', 'ADMIN'] as const;
type Permission = (typeof PERMISSIONS)[number];

function scopesOf(value: string): Permission[] {
  const list = value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const wrong = list.filter((s) => !(PERMISSIONS as readonly string[]).includes(s));
  if (wrong.length || list.length === 0)
    throw new WeftError(
      'BAD_USER_INPUT',
      `--scopes: ${wrong.length ? `unknown ${wrong.join(', ')}` : 'none given'} (comma-separated: ${PERMISSIONS.join(', ')})`,
    );
  return list as Permission[];
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Create and revoke API keys (needs the ADMIN permission)');

  keys
    .command('create')
    .description('Create an API key; the key is printed once and cannot be shown again')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scopes <permissions>', `comma-separated: ${PERMISSIONS.join(', ')}`, 'READ')
    .option('--expires <date>', 'expiry, ISO 8601 (e.g. 2027-01-31T00:00:00Z)')
    .action(async (options: { name: string; scopes: string; expires?: string }, command: Command) => {
      const scopes = scopesOf(options.scopes);
      if (options.expires !== undefined && Number.isNaN(Date.parse(options.expires)))
        throw new WeftError('BAD_USER_INPUT', `--expires must be an ISO 8601 date (got "${options.expires}")`);
      const client = connect();
      try {
        const { createApiKey } = await client.request(CreateApiKeyDocument, {
          input: {
            name: options.name,
            scopes,
            ...(options.expires ? { expiresAt: new Date(options.expires).toISOString() } : {}),
          },
        });
        if (command.optsWithGlobals().json) return printJson(createApiKey);
        printFields([
          ['id', createApiKey.apiKey.id],
          ['name', createApiKey.apiKey.name],
          ['scopes', createApiKey.apiKey.scopes.join(', ')],
          ['expires', createApiKey.apiKey.expiresAt ?? 'never'],
          ['key', createApiKey.key],
        ]);
        process.stdout.write('\nStore the key now: it cannot be shown again.\n');
      } finally {
        await client.close();
      }
    });

  keys
    .command('revoke')
    .description('Revoke an API key at once')
    .argument('<key>', 'API key id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const client = connect();
      try {
        const { revokeApiKey } = await client.request(RevokeApiKeyDocument, { input: { id } });
        if (command.optsWithGlobals().json) return printJson(revokeApiKey.apiKey);
        process.stdout.write(`Revoked key ${revokeApiKey.apiKey.id} (${revokeApiKey.apiKey.name})\n`);
      } finally {
        await client.close();
      }
    });
}
