import * as assert from "uvu/assert";

/** Asserts that `promise` rejects with an error for which `matches` holds; returns that error. */
export async function assertRejects(promise: Promise<unknown>, matches: (error: unknown) => boolean): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    assert.ok(matches(error), `unexpected error: ${error instanceof Error ? error.stack : String(error)}`);
    return error;
  }
  assert.unreachable("expected a rejection");
  return undefined;
}
