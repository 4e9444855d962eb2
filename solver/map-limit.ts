/**
 * Runs `fn` over `items` with at most `limit` calls in flight, results in item order. File
 * work is bound by round trips to libuv's thread pool, not CPU: one call at a time leaves
 * the pool idle, tens at a time keep it busy.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
