// Retry policy for database transactions, in one place: PostgreSQL serialization failures and
// deadlocks are transient and safe to retry (the transaction rolled back whole).
const RETRYABLE_PG_CODES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

function isRetryable(error: unknown): boolean {
  const e = error as { code?: string; meta?: { code?: string }; cause?: { code?: string }; message?: string };
  const code = e?.code === 'P2034' ? '40001' : (e?.meta?.code ?? e?.cause?.code ?? e?.code);
  return (
    (code !== undefined && RETRYABLE_PG_CODES.has(code)) ||
    /deadlock detected|could not serialize/i.test(e?.message ?? '')
  );
}

export async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * 2 ** attempt));
    }
  }
}
