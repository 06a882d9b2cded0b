// Batches on a Redis Cluster: a pipeline may only hold keys of slots one node serves, so a batch is
// cut into one pipeline per node (docs/architecture.md, "Keys and slots").
import { createRequire } from 'node:module'
import type { ChainableCommander } from 'ioredis'
import { isCluster, type RedisClient } from '../redis-client.js'

// ioredis' own slot function (CRC16 of the hash tag, mod 16384); the package ships no types.
const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number

export type Reply = [Error | null, unknown]

export function slotOf (key: string): number {
  return calculateSlot(key)
}

/**
 * One command per key, sent as pipelines: one on a single server, one per serving node on a Cluster
 * (per slot while the slot map is not known). The replies come back in key order.
 */
export async function pipelined (client: RedisClient, keys: string[], add: (pipe: ChainableCommander, key: string, i: number) => void): Promise<Reply[]> {
  const groups = new Map<string, number[]>()
  const cluster = isCluster(client)
  keys.forEach((key, i) => {
    let group = ''
    if (cluster) {
      const slot = slotOf(key)
      group = client.slots[slot]?.[0] ?? `slot:${slot}`
    }
    const members = groups.get(group)
    if (members === undefined) groups.set(group, [i])
    else members.push(i)
  })
  const out: Reply[] = new Array(keys.length)
  await Promise.all([...groups.values()].map(async members => {
    const pipe = client.pipeline()
    for (const i of members) add(pipe, keys[i] as string, i)
    const replies = await pipe.exec()
    members.forEach((i, j) => { out[i] = (replies?.[j] as Reply | undefined) ?? [new Error('no reply'), null] })
  }))
  return out
}
