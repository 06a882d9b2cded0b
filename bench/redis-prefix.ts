// Leaving the machine's Redis as it was found: every key under a run's key prefix removed. The
// benchmarks and the tests (test/helpers/redis.ts) each work under a prefix of their own and share
// this; it lives in bench/ because the benchmarks must run without the test tree.
import { Redis } from 'ioredis'

/** Deletes every key under `prefix` on the Redis at `url`, a SCAN batch at a time. */
export async function dropPrefix (prefix: string, url: string): Promise<void> {
  const redis = new Redis(url)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}
