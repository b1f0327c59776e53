// AES-256-GCM for workspace secrets at rest. Stored form: "v1.<iv>.<tag>.<ciphertext>" (base64url).
// The secret's name is bound as additional authenticated data, so a ciphertext copied onto
// another secret's row does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class SecretsKeyError extends Error {
  override name = 'SecretsKeyError';
}

/** Accepts 32 bytes as 64 hex characters or base64. */
export function parseKey(value: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32)
    throw new SecretsKeyError(
      'WEFT_SECRETS_KEY must be 32 bytes, as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)',
    );
  return key;
}

/**
 * The key for the embedded database when WEFT_SECRETS_KEY is not set: generated once and kept
 * next to the data directory (mode 0600), so `npm start` stays zero-config.
 */
/**
 * The generated key of an embedded installation, created on first use (mode 0600). Before
 * WEFT_HOME existed the key was written beside the data directory; a key found there is the one
 * this data directory's secrets were encrypted with, so it is carried over (copied, not moved: the
 * old directory may be shared with other instances that still use it).
 */
export function localKey(
  file: string,
  legacyFile: string | null,
  log?: { warn(obj: object, msg: string): void },
): Buffer {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (legacyFile && legacyFile !== file && existsSync(legacyFile)) {
      writeFileSync(file, readFileSync(legacyFile, 'utf8'), { mode: 0o600, flag: 'wx' });
      log?.warn(
        { from: legacyFile, to: file },
        'secrets key copied from its old place beside the data directory; delete the old file once no other Weft instance uses it',
      );
    } else {
      writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    }
  }
  chmodSync(file, 0o600);
  return parseKey(readFileSync(file, 'utf8').trim());
}

export function encryptSecret(key: Buffer, name: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(name));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

export function decryptSecret(key: Buffer, name: string, stored: string): string {
  const [version, iv, tag, ciphertext] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || ciphertext === undefined)
    throw new SecretsKeyError(`Secret '${name}' is not in a known format`);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(name));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretsKeyError(`Secret '${name}' cannot be decrypted with the configured WEFT_SECRETS_KEY`);
  }
}

const SEALED = /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Settings that are secrets (a workflow's webhook signing and inbound secrets): encrypted like
 * workspace secrets when a key is configured, with `label` as AAD; stored as given without one.
 */
export function sealValue(key: Buffer | null, label: string, value: string): string {
  return key ? encryptSecret(key, label, value) : value;
}

/** The plaintext of a sealed value; values stored before a key was configured pass through. */
export function openValue(key: Buffer | null, label: string, stored: string): string {
  if (!SEALED.test(stored)) return stored;
  if (!key) throw new SecretsKeyError(`${label} is encrypted but no WEFT_SECRETS_KEY is configured`);
  return decryptSecret(key, label, stored);
}

export const WEBHOOK_SECRET_LABEL = 'workflow.webhookSecret';
export const INBOUND_SECRET_LABEL = 'workflow.inboundSecret';
