// `homing registry reindex`: rebuilds every device index from the records, and moves records of the
// layout before buckets (`device:{<pk>/<dn>}`, with a `names:{<pk>}` set) to theirs. Safe while Homing
// runs and safe to run again: every change to an index is made by the same script as record writes,
// and only if the record is still the one read (docs/operations.md, "Rebuilding the device indexes").
import type { Cluster, Redis } from 'ioredis'
import { isCluster } from '../redis-client.js'
import type { Device } from '../types.js'
import { deviceKey, indexKey } from './device-keys.js'
import { bucketOf, indexEntries } from './indexes.js'
import type { RedisStore } from './redis.js'

export interface ReindexReport {
  /** Records of the old layout moved to the new one (or dropped: the new one existed already). */
  migrated: number
  /** Records whose index entries were (re)written. */
  indexed: number
  /** Index entries that matched no record, or not the record as it is. */
  removed: number
  /** `names:{pk}` sets of the old layout deleted. */
  legacySets: number
}

const BATCH = 500

/** Every key matching `match`, batch by batch, on each master of a Cluster. */
async function scanKeys (client: Redis | Cluster, match: string, each: (keys: string[]) => Promise<void>): Promise<void> {
  const nodes: Redis[] = isCluster(client) ? client.nodes('master') : [client]
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', BATCH)
      cursor = next
      if (keys.length > 0) await each(keys)
    } while (cursor !== '0')
  }
}

/** Glob-escapes the prefix for SCAN MATCH. */
function glob (text: string): string {
  return text.replace(/[*?[\]\\]/g, c => `\\${c}`)
}

export async function reindexRegistry (store: RedisStore, keyPrefix: string): Promise<ReindexReport> {
  const redis = store.redis
  const report: ReindexReport = { migrated: 0, indexed: 0, removed: 0, legacySets: 0 }
  const legacy = new RegExp(`^${escape(keyPrefix)}device:\\{([^}/#]+)/([^}]+)\\}$`)
  const current = new RegExp(`^${escape(keyPrefix)}device:\\{([^}#]+)#(\\d+)\\}(.+)$`)
  const ix = new RegExp(`^${escape(keyPrefix)}ix:\\{([^}#]+)#(\\d+)\\}:(.+)$`)

  /** The record joins every index it belongs to; again if it changed meanwhile. */
  const indexRecord = async (pk: string, dn: string): Promise<void> => {
    const key = deviceKey(keyPrefix, pk, dn)
    for (;;) {
      const raw = await redis.get(key)
      if (raw === null) return
      const keys = [key, ...indexEntries(JSON.parse(raw) as Device).map(i => indexKey(keyPrefix, pk, bucketOf(dn), i))]
      if (await redis.homingWrite(keys.length, ...keys, raw, raw, dn, 0) !== 0) break
    }
    report.indexed++
  }

  // 1. Records of the old layout: written to the new key with their entries, unless a newer record is there.
  await scanKeys(redis, `${glob(keyPrefix)}device:{*/*}`, async keys => {
    for (const key of keys) {
      const m = legacy.exec(key)
      if (m === null) continue
      const [, pk = '', dn = ''] = m
      const raw = await redis.get(key)
      if (raw !== null) {
        const target = deviceKey(keyPrefix, pk, dn)
        const entries = indexEntries(JSON.parse(raw) as Device).map(i => indexKey(keyPrefix, pk, bucketOf(dn), i))
        await redis.homingWrite(entries.length + 1, target, ...entries, '', raw, dn, 0)
        await redis.del(key)
        report.migrated++
      }
    }
  })
  await scanKeys(redis, `${glob(keyPrefix)}names:{*}`, async keys => {
    for (const key of keys) report.legacySets += await redis.del(key)
  })

  // 2. Every record joins its indexes.
  await scanKeys(redis, `${glob(keyPrefix)}device:{*#*}*`, async keys => {
    for (const key of keys) {
      const m = current.exec(key)
      if (m !== null) await indexRecord(m[1] ?? '', m[3] ?? '')
    }
  })

  // 3. Entries no record stands behind leave, each only if the record is still the one read.
  await scanKeys(redis, `${glob(keyPrefix)}ix:{*`, async keys => {
    for (const key of keys) {
      const m = ix.exec(key)
      if (m === null) continue
      const [, pk = '', bucket = '', index = ''] = m
      let cursor = '0'
      do {
        const [next, flat] = await redis.zscan(key, cursor, 'COUNT', BATCH)
        cursor = next
        for (let i = 0; i < flat.length; i += 2) {
          const dn = flat[i] as string
          if (bucketOf(dn) !== Number(bucket)) {
            report.removed += await redis.zrem(key, dn)
            continue
          }
          const record = deviceKey(keyPrefix, pk, dn)
          const raw = await redis.get(record)
          if (raw !== null && indexEntries(JSON.parse(raw) as Device).includes(index)) continue
          // '' expected: only while the record is still absent; otherwise only while it is still `raw`.
          if (await redis.homingWrite(2, record, key, raw ?? '', raw ?? '', dn, 1) === 1) report.removed++
        }
      } while (cursor !== '0')
    }
  })
  return report
}

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
