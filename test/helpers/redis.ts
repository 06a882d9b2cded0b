// A real Redis for tests, under a key prefix of this run's own, removed afterwards.
import { randomBytes } from 'node:crypto'
import { dropPrefix as dropKeysUnder } from '../../bench/redis-prefix.js'

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0'

export function uniquePrefix (label = 't'): string {
  return `homing-test:${label}:${process.pid}:${randomBytes(4).toString('hex')}:`
}

/** Deletes every key under `prefix`. */
export async function dropPrefix (prefix: string, url = REDIS_URL): Promise<void> {
  await dropKeysUnder(prefix, url)
}
