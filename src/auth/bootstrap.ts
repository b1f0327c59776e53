// The first admin key. A fresh installation has no members and no keys, so nobody could call
// the API: on first start Weft creates an admin key for the default workspace, prints it once
// and writes it to a file only the owner can read. Later starts find keys and do nothing.
// Deployments can instead pin a key with WEFT_ADMIN_API_KEY (created if missing).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PrismaClient } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { createApiKey, hashApiKey } from './api-keys.ts';
import { PERMISSIONS } from './permissions.ts';

export interface BootstrapOptions {
  workspaceId: string;
  configuredKey: string | null;
  keyFile: string | null;
  log: Logger;
  /** Where the one-time banner goes (the console). */
  print: (text: string) => void;
}

/** Ensures someone can administer the default workspace; returns the key created now, if any. */
export async function ensureAdminAccess(prisma: PrismaClient, opts: BootstrapOptions): Promise<string | null> {
  if (opts.configuredKey) {
    await ensureConfiguredKey(prisma, opts);
    return null;
  }
  const created = await prisma.$transaction(async (tx) => {
    // Two processes starting together on one database must not both mint a key.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('weft:bootstrap-admin-key'))`;
    const [keys, members] = await Promise.all([tx.apiKey.count(), tx.workspaceMember.count()]);
    if (keys > 0 || members > 0) return null;
    return createApiKey(tx, {
      workspaceId: opts.workspaceId,
      name: 'Bootstrap admin key',
      scopes: [...PERMISSIONS],
      role: 'ADMIN',
      createdById: null,
      expiresAt: null,
    });
  });
  if (!created) return null;
  if (opts.keyFile) {
    mkdirSync(path.dirname(opts.keyFile), { recursive: true });
    writeFileSync(opts.keyFile, `${created.key}\n`, { mode: 0o600 });
  }
  opts.print(
    [
      '',
      '  Weft created an admin API key for the default workspace. It is shown only this once:',
      '',
      `    ${created.key}`,
      '',
      opts.keyFile
        ? `  It is also in ${opts.keyFile} (readable only by you).`
        : '  Store it now: it cannot be shown again (revoke it and create another if lost).',
      '  Send it as "Authorization: Bearer <key>" (in GraphiQL: the Headers tab).',
      '',
    ].join('\n'),
  );
  opts.log.info({ apiKeyId: created.apiKey.id, keyFile: opts.keyFile }, 'bootstrap admin API key created');
  return created.key;
}

async function ensureConfiguredKey(prisma: PrismaClient, opts: BootstrapOptions): Promise<void> {
  const existing = await prisma.apiKey.findUnique({ where: { hash: hashApiKey(opts.configuredKey!) } });
  if (existing) {
    if (existing.revokedAt)
      opts.log.warn({ apiKeyId: existing.id }, 'WEFT_ADMIN_API_KEY was revoked; it stays revoked');
    return;
  }
  try {
    await createApiKey(
      prisma,
      {
        workspaceId: opts.workspaceId,
        name: 'Admin key (WEFT_ADMIN_API_KEY)',
        scopes: [...PERMISSIONS],
        role: 'ADMIN',
        createdById: null,
        expiresAt: null,
      },
      opts.configuredKey!,
    );
  } catch (error) {
    // Another process starting at the same moment created it.
    if ((error as { code?: string }).code !== 'P2002') throw error;
  }
}
