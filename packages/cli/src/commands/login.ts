// weft login / whoami: store a verified server and API key; say who they are.
import type { Command } from 'commander';
import { createClient, graphqlEndpoint, WeftError, type WeftClient } from '@weft/client';
import { configPath, writeConfig } from '../config.ts';
import { connect } from '../context.ts';
import { ViewerDocument } from '../operations.ts';
import { printFields, printJson } from '../output.ts';

async function viewerOf(client: WeftClient) {
  const { viewer } = await client.request(ViewerDocument, {});
  return viewer;
}

function describe(viewer: Awaited<ReturnType<typeof viewerOf>>, server: string) {
  const who = viewer.apiKey
    ? `API key "${viewer.apiKey.name}" (${viewer.apiKey.prefix}…)`
    : `user ${viewer.user?.email ?? viewer.user?.subject ?? '?'}`;
  return {
    who,
    fields: [
      ['server', server],
      ['as', who],
      ['role', viewer.role],
      ['permissions', viewer.permissions.join(', ')],
      ['workspace', viewer.workspace ? `${viewer.workspace.name} (${viewer.workspace.id})` : null],
    ] as [string, unknown][],
  };
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description(
      'Verify an API key against a Weft server and remember both (in $WEFT_CONFIG or ~/.config/weft/config.json, mode 0600)',
    )
    .requiredOption('--server <url>', 'Weft address, e.g. http://localhost:4000')
    .option('--api-key <key>', 'API key (weft_live_…); default: $WEFT_API_KEY')
    .action(async (options: { server: string; apiKey?: string }, command: Command) => {
      const apiKey = options.apiKey ?? process.env.WEFT_API_KEY;
      if (!apiKey) throw new WeftError('BAD_USER_INPUT', 'Give the key with --api-key <key> (or set WEFT_API_KEY)');
      let server: string;
      try {
        server = graphqlEndpoint(options.server).replace(/\/graphql$/, '');
      } catch {
        throw new WeftError(
          'BAD_USER_INPUT',
          `--server must be a URL such as http://localhost:4000 (got "${options.server}")`,
        );
      }
      const client = createClient({ url: server, apiKey });
      const viewer = await viewerOf(client); // a refused key throws here, before anything is written
      const file = writeConfig({ server, apiKey }, configPath());
      if (command.optsWithGlobals().json) return printJson({ server, config: file, viewer });
      const { who } = describe(viewer, server);
      process.stdout.write(
        `Logged in to ${server} as ${who}, role ${viewer.role ?? '-'}${viewer.workspace ? `, workspace ${viewer.workspace.name}` : ''}.\nSaved to ${file} (mode 0600).\n`,
      );
    });

  program
    .command('whoami')
    .description('Show the server, credential, role and workspace in use')
    .action(async (_options: unknown, command: Command) => {
      const client = connect();
      const viewer = await viewerOf(client);
      const server = client.url.replace(/\/graphql$/, '');
      if (command.optsWithGlobals().json) return printJson({ server, viewer });
      printFields(describe(viewer, server).fields);
    });
}
