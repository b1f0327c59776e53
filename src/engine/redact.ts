// Inputs marked sensitive in the input schema ("sensitive": true on a property) must never
// appear in logs, events or exports. The engine needs the real values to execute, so instead
// of hiding the input it scrubs every string it records: any occurrence of a sensitive value
// is replaced by a marker.
export const REDACTED = '[sensitive]';

export type Redactor = <T>(value: T) => T;

/** Values of the input's top-level properties that the schema marks `sensitive: true`. */
export function sensitiveValues(inputSchema: unknown, input: unknown): string[] {
  const props = (inputSchema as { properties?: Record<string, { sensitive?: unknown }> } | undefined)?.properties;
  if (!props || typeof input !== 'object' || input === null) return [];
  const values: string[] = [];
  for (const [key, schema] of Object.entries(props)) {
    if (schema?.sensitive !== true) continue;
    const value = (input as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (text.length >= 3) values.push(text); // very short values would redact half the world
  }
  return values.sort((a, b) => b.length - a.length);
}

/** Encoded forms shorter than this are not scrubbed: they would match all over ordinary text. */
const MIN_ENCODED_LENGTH = 6;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The text of `bytes` in base64 wherever it sits in a longer base64 string (an `Authorization:
 * Basic` header, a data URL): encoded at each of the three byte alignments, keeping only the
 * characters that depend on these bytes alone.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    const core = encoded.slice(first, end);
    cores.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return cores;
}

/**
 * The forms a value takes on its way through URLs, JSON, headers and encoders. Textual forms are
 * matched ignoring case (a host name is lower-cased by URL parsing, percent-escapes come in
 * either case); base64 forms exactly.
 */
export function encodedForms(value: string): { text: string[]; exact: string[] } {
  const json = JSON.stringify(value).slice(1, -1);
  const text = [
    value,
    encodeURIComponent(value),
    encodeURI(value),
    encodeURIComponent(value).replaceAll('%20', '+'),
    json,
    json.replaceAll('/', '\\/'),
    JSON.stringify(json).slice(1, -1),
    Buffer.from(value).toString('hex'),
  ];
  const exact = base64Cores(Buffer.from(value));
  return {
    text: [...new Set(text)].filter((form, i) => i === 0 || form.length >= MIN_ENCODED_LENGTH),
    exact: [...new Set(exact)].filter((form) => form.length >= MIN_ENCODED_LENGTH),
  };
}

/** PostgreSQL's text and jsonb cannot hold U+0000; a step may well return it (a binary-ish body). */
const NUL = /\u0000/g;
const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * The function every recorded value goes through (step outputs, errors, logs, events, run
 * output): in every string and key, deeply, each of `values` in any of its encoded forms becomes
 * the marker (longest forms first, so a value that contains another is replaced whole), and a NUL
 * character becomes U+FFFD, so that what a step returned can always be stored.
 */
export function createRedactor(values: string[]): Redactor {
  const text = new Set<string>();
  const exact = new Set<string>();
  for (const value of values) {
    const forms = encodedForms(value);
    for (const form of forms.text) text.add(form);
    for (const form of forms.exact) exact.add(form);
  }
  const pattern = (forms: Set<string>) =>
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|');
  const textPattern = text.size ? new RegExp(pattern(text), 'gi') : null;
  const exactPattern = exact.size ? new RegExp(pattern(exact), 'g') : null;
  const scrubText = (value: string) => {
    let out = value.includes('\u0000') ? value.replace(NUL, REPLACEMENT_CHARACTER) : value;
    if (textPattern) out = out.replace(textPattern, REDACTED);
    return exactPattern ? out.replace(exactPattern, REDACTED) : out;
  };
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return scrubText(value);
    if (Array.isArray(value)) return value.map(scrub);
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [scrubText(k), scrub(v)]));
    }
    return value;
  };
  return <T>(value: T) => scrub(value) as T;
}

/** The run input as shown to users: sensitive properties replaced by the marker. */
export function redactInput(inputSchema: unknown, input: unknown): unknown {
  const props = (inputSchema as { properties?: Record<string, { sensitive?: unknown }> } | undefined)?.properties;
  if (!props || typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  return Object.fromEntries(
    Object.entries(input).map(([k, v]) => [k, props[k]?.sensitive === true && v != null ? REDACTED : v]),
  );
}
