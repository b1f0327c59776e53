// Bearer JWTs from an identity provider. Verified with jose: HS256 with a shared secret, or the
// provider's public keys from a JWKS (a local file or an https URL, fetched and cached by jose).
// The issuer and audience are always checked; `sub` identifies the user.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config.ts';

export interface VerifiedIdentity {
  subject: string;
  email: string | null;
  name: string | null;
}

export type JwtVerifier = (token: string) => Promise<VerifiedIdentity>;

/** Clock skew tolerated on exp/nbf/iat, as most identity providers recommend. */
const CLOCK_TOLERANCE_S = 30;

export function createJwtVerifier(jwt: NonNullable<Config['auth']['jwt']>): JwtVerifier {
  const options = { issuer: jwt.issuer, audience: jwt.audience, clockTolerance: CLOCK_TOLERANCE_S };
  let verify: (token: string) => ReturnType<typeof jwtVerify>;
  if (jwt.secret) {
    const secret = new TextEncoder().encode(jwt.secret);
    verify = (token) => jwtVerify(token, secret, { ...options, algorithms: ['HS256'] });
  } else {
    const keys: JWTVerifyGetKey = /^https?:\/\//.test(jwt.jwks!)
      ? createRemoteJWKSet(new URL(jwt.jwks!))
      : createLocalJWKSet(JSON.parse(readFileSync(jwt.jwks!, 'utf8')));
    // Asymmetric algorithms only: a JWKS never holds the shared secret HS256 would need.
    verify = (token) =>
      jwtVerify(token, keys, {
        ...options,
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      });
  }
  return async (token) => {
    const { payload } = await verify(token);
    // A NUL cannot be stored (PostgreSQL text): such a subject is unusable, such a profile claim ignored.
    if (
      typeof payload.sub !== 'string' ||
      payload.sub.length === 0 ||
      payload.sub.length > 255 ||
      payload.sub.includes('\u0000')
    )
      throw new Error('token has no usable sub claim');
    const text = (value: unknown) =>
      typeof value === 'string' && value.length <= 320 && !value.includes('\u0000') ? value : null;
    return { subject: payload.sub, email: text(payload.email), name: text(payload.name) };
  };
}
