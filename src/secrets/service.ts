// Workspace secrets: write-only values referenced from step configs as {{ secrets.NAME }}.
// Values are encrypted at rest and never returned by the API; the engine decrypts them only
// for runs whose definition mentions `secrets.`, and redacts them from everything it records.
import { NotFoundError, ValidationError, WeftError } from '../errors.ts';
import type { PrismaClient } from '../db/client.ts';
import type { ServiceScope } from '../scope.ts';
import { decryptSecret, encryptSecret } from './crypto.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_VALUE_BYTES = 64 * 1024;
/**
 * Shorter values cannot be hidden: redaction replaces every occurrence of a secret in what is
 * recorded, and a 3-character secret occurs all over ordinary output (or is guessed).
 */
export const MIN_SECRET_LENGTH = 8;

function requireKey(key: Buffer | null): Buffer {
  if (!key)
    throw new WeftError(
      'VALIDATION_FAILED',
      'Secrets are not configured on this server: set WEFT_SECRETS_KEY (32 bytes, e.g. `openssl rand -hex 32`).',
    );
  return key;
}

export async function setSecret(scope: ServiceScope, name: string, value: string) {
  const problems = [];
  if (!NAME.test(name))
    problems.push({
      path: ['input', 'name'],
      message: 'must be letters, digits and _ (not starting with a digit), at most 128 characters',
    });
  if ([...value].length < MIN_SECRET_LENGTH)
    problems.push({
      path: ['input', 'value'],
      message: `must be at least ${MIN_SECRET_LENGTH} characters long (shorter secrets cannot be reliably redacted from what runs record)`,
    });
  else if (Buffer.byteLength(value) > MAX_VALUE_BYTES)
    problems.push({ path: ['input', 'value'], message: `must be at most ${MAX_VALUE_BYTES / 1024} KiB` });
  if (problems.length) throw new ValidationError(problems);
  const ciphertext = encryptSecret(requireKey(scope.secretsKey), name, value);
  return scope.prisma.secret.upsert({
    where: { workspaceId_name: { workspaceId: scope.workspaceId, name } },
    create: { workspaceId: scope.workspaceId, name, ciphertext },
    update: { ciphertext },
  });
}

export async function deleteSecret(scope: ServiceScope, name: string) {
  const { count } = await scope.prisma.secret.deleteMany({ where: { workspaceId: scope.workspaceId, name } });
  if (count === 0) throw new NotFoundError('Secret', name);
}

/** Every secret of a workspace, decrypted (for the engine only). */
export async function loadSecrets(
  prisma: Pick<PrismaClient, 'secret'>,
  workspaceId: string,
  key: Buffer | null,
): Promise<Record<string, string>> {
  const rows = await prisma.secret.findMany({ where: { workspaceId } });
  if (rows.length === 0) return {};
  const usable = requireKey(key);
  return Object.fromEntries(rows.map((row) => [row.name, decryptSecret(usable, row.name, row.ciphertext)]));
}
