// A moved device's record keeps its stage as data and derives its message from it (shared/records.ts);
// records written before stages were stored (code and message only) read with their stage
// (shared/store/record-form.ts), and their message reads exactly as it was written.
import fc from 'fast-check'
import { Redis } from 'ioredis'
import t from 'tap'
import { awaitsAnnouncement, moveMessage } from '../shared/records.js'
import { legacyMove, readRecord, storedRecord } from '../shared/store/record-form.js'
import type { MoveProgress } from '../shared/types.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'

t.test('the message of each stage', async t => {
  const kick = (notified: boolean, answered: boolean, disconnected: boolean) => ({ notified, answered, disconnected })
  const cases: Array<[MoveProgress, string]> = [
    [{ stage: 'moved', to: 'iot-b' }, 'moved to iot-b'],
    [{ stage: 'offline', to: 'iot-b' }, 'moved to iot-b; offline'],
    [{ stage: 'moved', to: null }, 'moved to nearest placement'],
    [{ stage: 'kicked', to: 'iot-b', kick: kick(true, true, true) }, 'moved to iot-b; online; notified; answered; disconnected'],
    [{ stage: 'kicked', to: 'iot-b', kick: kick(true, false, true) }, 'moved to iot-b; online; notified; no answer; disconnected'],
    [{ stage: 'kicked', to: null, kick: kick(false, false, true) }, 'moved to nearest placement; online; no answer; disconnected'],
    [{ stage: 'offline', to: null, placement: 'placed at c (r2), nearest to 8.8.8.8' }, 'moved to nearest placement; offline; placed at c (r2), nearest to 8.8.8.8'],
    [{ stage: 'placed', to: null, placement: 'placed at c (r2), fallback: no address' }, 'placed at c (r2), fallback: no address']
  ]
  for (const [move, message] of cases) t.equal(moveMessage(move), message, message)
})

const instanceId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/)
const stage = fc.oneof(
  fc.record({ stage: fc.constantFrom('moved' as const, 'offline' as const), to: fc.option(instanceId, { nil: null }) }),
  fc.record({
    stage: fc.constant('kicked' as const),
    to: fc.option(instanceId, { nil: null }),
    kick: fc.record({ notified: fc.boolean(), answered: fc.boolean(), disconnected: fc.boolean() })
  })
)

t.test('an old-form record of any stage reads back with that stage and the message it was written with', async t => {
  fc.assert(fc.property(stage, move => {
    const message = moveMessage(move)
    t.same(legacyMove(message), move)
    const read = readRecord(JSON.stringify({ productKey: 'pk', deviceName: 'dn', code: 'success', message }))
    return read?.message === message && JSON.stringify(read.move) === JSON.stringify(move)
  }))
})

t.test('the stored form keeps the stage, not the marks kept beside it', async t => {
  const raw = storedRecord({
    productKey: 'pk',
    deviceName: 'dn',
    code: 'success',
    message: 'anything',
    move: { stage: 'offline', to: null, placement: 'placed at c (r2), nearest to 8.8.8.8', announced: true }
  })
  t.same(JSON.parse(raw), { productKey: 'pk', deviceName: 'dn', code: 'success', message: 'moved to nearest placement; offline', move: { stage: 'offline', to: null } })
  t.same(readRecord(raw), { productKey: 'pk', deviceName: 'dn', code: 'success', message: 'moved to nearest placement; offline', move: { stage: 'offline', to: null } })
})

t.test('failures and unknown success messages keep their words and get no stage; a stored value that is no record is left out', async t => {
  t.same(readRecord('{"productKey":"pk","deviceName":"dn","code":"not_at_source","message":"device dn is not at instance a"}'),
    { productKey: 'pk', deviceName: 'dn', code: 'not_at_source', message: 'device dn is not at instance a' })
  t.same(readRecord('{"productKey":"pk","deviceName":"dn","code":"success","message":"moved to b; teleported"}'),
    { productKey: 'pk', deviceName: 'dn', code: 'success', message: 'moved to b; teleported' })
  t.equal(readRecord('not json'), null)
  t.equal(readRecord('{"productKey":"pk","deviceName":"dn","code":"success","move":{"stage":"warped","to":"b"}}'), null)
})

t.test('a record an older version wrote in Redis (the raw bytes) reads with its stage, and the runner knows what it still owes', async t => {
  const { keyPrefix, store } = await openTestRegistry(t, 'records-stage')
  const raw = new Redis(REDIS_URL)
  t.teardown(async () => {
    raw.disconnect()
  })
  await raw.hset(`${keyPrefix}job:{old-job}:records`,
    'pk/online', '{"productKey":"pk","deviceName":"online","code":"success","message":"moved to b"}',
    'pk/kicked', '{"productKey":"pk","deviceName":"kicked","code":"success","message":"moved to b; online; notified; answered; disconnected"}')
  await raw.hset(`${keyPrefix}job:{old-job}:placements`, 'pk/placed', 'placed at c (r2), nearest to 8.8.8.8')
  const records = (await store.getRecords('old-job')).sort((a, b) => a.deviceName.localeCompare(b.deviceName))
  t.same(records.map(r => [r.deviceName, r.message, r.move?.stage, awaitsAnnouncement(r)]), [
    ['kicked', 'moved to b; online; notified; answered; disconnected', 'kicked', false],
    ['online', 'moved to b', 'moved', true],
    ['placed', 'placed at c (r2), nearest to 8.8.8.8', 'placed', true]
  ])
  await store.markAnnounced('old-job', [{ productKey: 'pk', deviceName: 'online' }, { productKey: 'pk', deviceName: 'placed' }])
  t.same((await store.getRecords('old-job')).filter(awaitsAnnouncement), [], 'once marked, nothing is owed')
})
