// A broker node's shutdown (SIGTERM on `homing broker`): Aedes closes its devices' connections,
// which publishes their $SYS announcements on the cluster emitter, and then closes the emitter.
// Those publishes wait in ioredis's auto-pipeline when the emitter sends QUIT, and QUIT is never
// pipelined: unless the QUIT waits for them (broker/redis-quit.ts) they are lost, and now and then
// the QUIT is rejected with "Connection is closed", unhandled, which kills the node mid-shutdown.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { clusterBackends } from '../broker/cluster.js'
import { quitAfterQueued } from '../broker/redis-quit.js'
import { silentLogger } from '../shared/log.js'
import { REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { within } from './helpers/wait.js'

const MESSAGES = 5000

/** Counts what arrives on `channel` until `count` did. */
async function listen (channel: string, count: number): Promise<{ all: Promise<number>, close: () => void }> {
  const sub = new Redis(REDIS_URL)
  await sub.subscribe(channel)
  let got = 0
  let done = (_n: number): void => {}
  const all = new Promise<number>(resolve => { done = resolve })
  sub.on('message', () => { if (++got === count) done(got) })
  return { all, close: () => sub.disconnect() }
}

t.test('quit() on an auto-pipelined connection: the commands queued before it are sent and answered, and it resolves', async t => {
  const channel = `${uniquePrefix('quit')}ch`
  const listener = await listen(channel, MESSAGES)
  t.teardown(listener.close)
  const conn = quitAfterQueued(new Redis(REDIS_URL, { enableAutoPipelining: true }))
  await conn.ping()
  const published = Array.from({ length: MESSAGES }, () => conn.publish(channel, randomBytes(8).toString('hex')).then(() => 'ok', (err: Error) => err.message))
  t.equal(await conn.quit(), 'OK')
  const outcomes = await Promise.all(published)
  t.equal(outcomes.filter(o => o !== 'ok').length, 0, 'no publish rejected')
  t.equal(await within(5000, listener.all, 'every message at the subscriber'), MESSAGES)
})

t.test('quit() on a connection that is already closed resolves', async t => {
  const conn = quitAfterQueued(new Redis(REDIS_URL, { lazyConnect: true }))
  conn.disconnect()
  t.equal(await conn.quit(), 'OK')
})

t.test('the cluster emitter closed right after a burst of publishes delivers them all', async t => {
  const keyPrefix = uniquePrefix('emitter-close')
  const listener = await listen(`${keyPrefix}aedes:a:x/y`, MESSAGES)
  t.teardown(listener.close)
  const backends = clusterBackends({ redis: REDIS_URL, keyPrefix, instanceId: 'a', log: silentLogger })
  // Both connections up before the burst, as on a running node.
  await within(5000, new Promise<void>(resolve => backends.mq.on('ready/#', () => {}, () => resolve())), 'the emitter subscribed')
  const errors: string[] = []
  for (let i = 0; i < MESSAGES; i++) {
    backends.mq.emit({ topic: 'x/y', payload: Buffer.from('gone') }, (err?: Error) => { if (err !== undefined && err !== null) errors.push(err.message) })
  }
  await within(5000, new Promise<void>(resolve => backends.mq.close(() => resolve())), 'the emitter to close')
  await backends.destroy()
  t.equal(errors.length, 0, `no publish failed (first error: ${errors[0] ?? 'none'})`)
  t.equal(await within(5000, listener.all, 'every message at the subscriber'), MESSAGES)
})
