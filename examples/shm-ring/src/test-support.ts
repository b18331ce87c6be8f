/** A wait the tests of this package share: it polls state, with a timeout that names what it awaited. */

/** Resolves once `check` returns a value other than undefined, polled each millisecond; rejects after `timeoutMs` naming `what`. */
export async function until<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
