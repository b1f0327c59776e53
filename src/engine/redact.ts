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

export function createRedactor(values: string[]): Redactor {
  const secrets = [...values].sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return (value) => value;
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return secrets.reduce((s, secret) => s.split(secret).join(REDACTED), value);
    if (Array.isArray(value)) return value.map(scrub);
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
    }
    return value;
  };
  return <T,>(value: T) => scrub(value) as T;
}

/** The run input as shown to users: sensitive properties replaced by the marker. */
export function redactInput(inputSchema: unknown, input: unknown): unknown {
  const props = (inputSchema as { properties?: Record<string, { sensitive?: unknown }> } | undefined)?.properties;
  if (!props || typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  return Object.fromEntries(Object.entries(input).map(([k, v]) => [k, props[k]?.sensitive === true && v != null ? REDACTED : v]));
}
