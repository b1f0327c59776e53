// A bounded wait for tests that watch other processes: polls until the probe returns something
// other than false, or fails naming what it waited for.
export async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | false>, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
