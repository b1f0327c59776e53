// A bounded wait for tests that watch other processes: polls until the probe returns something
// other than false, or fails naming what it waited for. This is the suite's only polling loop:
// wait on the condition a test needs, never on a fixed sleep.
export async function until<T>(
  what: string | (() => string),
  deadlineMs: number,
  probe: () => T | false | Promise<T | false>,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
