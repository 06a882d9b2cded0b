// A test sidecar (test/helpers/test-sidecar.ts) over the shared Redis under a key prefix of its
// own, with the API clients of its two accounts; stopped, with its keys removed, when `t` ends.
import type { Test } from 'tap'
import type { Config } from '../../shared/config.js'
import type { RedisStore } from '../../shared/store/redis.js'
import { openTestRegistry } from './registry.js'
import { apiClient, startTestSidecar, testConfig, TOKENS, type TestSidecar } from './test-sidecar.js'

export interface RedisSidecar extends TestSidecar {
  keyPrefix: string
  store: RedisStore
  acme: ReturnType<typeof apiClient>
  globex: ReturnType<typeof apiClient>
}

/** `config`: the test topology unless given; `jobs`: a job runner beside it, as `homing bootstrap` runs one. */
export async function startRedisSidecar (t: Test, label: string, opts: { config?: Config, jobs?: boolean } = {}): Promise<RedisSidecar> {
  const { keyPrefix, store } = await openTestRegistry(t, label)
  const ts = await startTestSidecar(store, opts.config ?? testConfig(), { jobs: opts.jobs })
  t.teardown(() => ts.close())
  return { ...ts, keyPrefix, store, acme: apiClient(ts.url, TOKENS.acme), globex: apiClient(ts.url, TOKENS.globex) }
}
