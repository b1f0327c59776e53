// What every HTTP request goes through before any route sees it: a request target that parses
// (origin-form or absolute-form, any Host header), path segments that decode, and a body read
// within WEFT_MAX_BODY_BYTES whether it came with a Content-Length or chunked.
import type { IncomingMessage } from 'node:http';

/**
 * Rewrites the request target to origin-form (`/path?query`) and replaces a Host header that
 * cannot form a URL, so the fetch-API layer below (which builds `http://<host><target>`) never
 * fails on it — its own failure answer is a plain-text stack trace. Returns the path, or null
 * when the target cannot be parsed at all.
 */
export function normaliseRequestTarget(req: IncomingMessage): { pathname: string; search: string } | null {
  let target: URL;
  try {
    // An absolute-form target (`GET http://host/graphql`) keeps its path; its host is ignored.
    target = new URL(req.url ?? '/', 'http://weft.invalid');
  } catch {
    return null;
  }
  if (target.pathname.startsWith('//')) return null;
  req.url = `${target.pathname}${target.search}`;
  try {
    new URL(`http://${req.headers.host ?? 'localhost'}/`);
  } catch {
    req.headers.host = 'localhost';
  }
  return { pathname: target.pathname, search: target.search };
}

/** A percent-decoded path segment, or null when its encoding is malformed (`%ZZ`, a cut UTF-8 sequence). */
export function decodePathSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The whole body, or null as soon as it grows beyond maxBytes (declared length or not). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}
