/** Test helper: polling until something is there. */

/** Polls `fn` every `pollMs` until it returns a value; throws after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 30_000,
  pollMs = 200,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

/** `waitFor` with the function first, 20 s and 100 ms polls (the CloudWatch tests' spelling). */
export const until = <T>(fn: () => Promise<T | undefined>, what: string, ms = 20_000) =>
  waitFor(what, fn, ms, 100)
