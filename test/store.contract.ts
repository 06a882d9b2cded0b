// The registry's contract: every backend passes the same tests (docs/architecture.md, "Where state lives").
import t from 'tap'
import { newDevice } from '../shared/device.js'
import { DEVICE_EVENTS_KEPT, type DeviceEvent } from '../shared/device-events.js'
import type { Store } from '../shared/store/store.js'
import type { Job, MoveEvent, VerificationCode } from '../shared/types.js'
import { product } from './helpers/fixtures.js'
import { eventually } from './helpers/wait.js'
import { allDeviceNames } from '../shared/store/device-pages.js'
import { indexCases } from './store-indexes.contract.js'

function job (id: string, extra: Partial<Job> = {}): Job {
  return {
    id,
    accountId: 'acme',
    method: 'this-account',
    policy: 'region',
    sourceInstanceId: 'a',
    productKey: 'pk1',
    deviceNames: [],
    targetInstanceId: 'b',
    targets: [],
    targetAccountId: null,
    status: 'initializing',
    total: 0,
    succeeded: 0,
    failed: 0,
    createdAt: Date.now(),
    updatedAt: Date.now(),
    error: null,
    ...extra
  }
}

const MINUTE = 60_000
let codeIds = 0
function code (source: string, target: string, digits: string, createdAt: number): VerificationCode {
  return { id: `c${++codeIds}`, sourceAccountId: source, targetAccountId: target, code: digits, createdAt, expiresAt: createdAt + 5 * MINUTE }
}
const check = (now: number) => ({ now, maxFailures: 5, failureWindowMs: 5 * MINUTE, lockMs: 5 * MINUTE })

const info = (instanceId: string, session: string) => ({ instanceId, nodeId: 'n1', session, address: '203.0.113.9', at: 1000 })

export function storeContract (name: string, open: () => Promise<Store>): void {
  t.test(`${name} store`, async t => {
    const store = await open()
    t.teardown(() => store.close())

    t.test('a product belongs to an instance; a second create at the same instance is refused', async t => {
      t.equal(await store.createProduct(product('pkA', 'a')), true)
      t.equal(await store.createProduct(product('pkA', 'a', { name: 'other' })), false)
      t.equal((await store.getProduct('pkA', 'a'))?.name, 'Lamp')
      t.equal(await store.getProduct('pkA', 'b'), null)
      t.equal(await store.createProduct(product('pkA', 'b', { readOnly: true, sourceInstanceId: 'a' })), true)
      t.same((await store.productCopies('pkA')).map(p => p.instanceId).sort(), ['a', 'b'])
      t.same((await store.listProducts('a')).map(p => p.productKey), ['pkA'])
      await store.updateProduct({ ...product('pkA', 'a'), name: 'Lamp 2' })
      t.equal((await store.getProduct('pkA', 'a'))?.name, 'Lamp 2')
      t.equal((await store.getProduct('pkA', 'b'))?.name, 'Lamp', 'the copy keeps its snapshot')
      await store.deleteProduct('pkA', 'b')
      t.equal(await store.getProduct('pkA', 'b'), null)
      t.same((await store.listProducts('b')), [])
    })

    t.test('device names are unique per product across instances', async t => {
      const taken = await store.createDevices([newDevice('pkD', 'dev1', 'a'), newDevice('pkD', 'dev2', 'a')])
      t.same(taken, [])
      const again = await store.createDevices([newDevice('pkD', 'dev2', 'b'), newDevice('pkD', 'dev3', 'b')])
      t.same(again, ['dev2'])
      t.equal((await store.getDevice('pkD', 'dev2'))?.instanceId, 'a', 'the taken name keeps its device')
      t.same(await allDeviceNames(store, 'pkD'), ['dev1', 'dev2', 'dev3'])
      const many = await store.getDevices('pkD', ['dev3', 'nope', 'dev1'])
      t.same(many.map(d => d?.deviceName ?? null), ['dev3', null, 'dev1'])
      await store.deleteDevice('pkD', 'dev3')
      t.equal(await store.getDevice('pkD', 'dev3'), null)
      t.same(await allDeviceNames(store, 'pkD'), ['dev1', 'dev2'])
    })

    t.test('connect activates at the assigned instance only; disconnect respects takeover', async t => {
      await store.createDevices([newDevice('pkC', 'dev1', 'a')])
      const wrong = await store.connected('pkC', 'dev1', info('b', 's0'))
      t.equal(wrong.result, 'not-assigned')
      const first = await store.connected('pkC', 'dev1', info('a', 's1'))
      t.equal(first.result, 'ok')
      t.equal(first.result === 'ok' && first.firstConnect, true)
      t.equal(first.result === 'ok' && first.replaced, null, 'nobody held the mark before')
      const second = await store.connected('pkC', 'dev1', { ...info('a', 's2'), at: 2000 })
      t.equal(second.result === 'ok' && second.firstConnect, false)
      t.equal(second.result === 'ok' && second.replaced?.session, 's1', 'says whose mark it took over')
      await store.disconnected('pkC', 'dev1', 's1', 2500)
      t.equal((await store.getDevice('pkC', 'dev1'))?.online?.session, 's2', 'an old session does not clear the new one')
      await store.disconnected('pkC', 'dev1', 's2', 3000)
      const d = await store.getDevice('pkC', 'dev1')
      t.equal(d?.online, null)
      t.equal(d?.runtime.a?.active, true)
      t.equal(d?.runtime.a?.firstConnectAt, 1000)
      t.equal(d?.runtime.a?.lastDisconnectAt, 3000)
      t.same((await store.connected('pkC', 'nope', info('a', 's'))).result, 'not-found')
    })

    t.test('connect with the record just read: a stale read never wins over a move in between', async t => {
      await store.createDevices([newDevice('pkS', 'dev1', 'a'), newDevice('pkS', 'dev2', 'a')])
      const stale = await store.getDevice('pkS', 'dev1')
      await store.moveDevice('pkS', 'dev1', { from: 'a', to: 'b', jobId: 'js' })
      t.equal((await store.connected('pkS', 'dev1', info('a', 's1'), stale ?? undefined)).result, 'not-assigned')
      t.equal((await store.getDevice('pkS', 'dev1'))?.online, null, 'no online mark written from the stale read')
      const current = await store.getDevice('pkS', 'dev2')
      const ok = await store.connected('pkS', 'dev2', info('a', 's2'), current ?? undefined)
      t.equal(ok.result, 'ok')
      t.equal((await store.getDevice('pkS', 'dev2'))?.online?.session, 's2')
    })

    t.test('a move is atomic, idempotent per job, clears tags, keeps runtime at the source', async t => {
      await store.createDevices([newDevice('pkM', 'dev1', 'a')])
      await store.setTags('pkM', 'dev1', { color: 'red' })
      await store.connected('pkM', 'dev1', info('a', 's1'))
      await store.setProperties('pkM', 'dev1', 'a', '{"temp":20}')
      const moved = await store.moveDevice('pkM', 'dev1', { from: 'a', to: 'b', jobId: 'j1' })
      t.equal(moved.result, 'moved')
      t.equal(moved.result === 'moved' && moved.wasOnline?.session, 's1', 'says who held it')
      const again = await store.moveDevice('pkM', 'dev1', { from: 'a', to: 'b', jobId: 'j1' })
      t.equal(again.result, 'already')
      const other = await store.moveDevice('pkM', 'dev1', { from: 'a', to: 'c', jobId: 'j2' })
      t.equal(other.result, 'not-at-source')
      const d = await store.getDevice('pkM', 'dev1')
      t.equal(d?.instanceId, 'b')
      t.same(d?.tags, {})
      t.equal(d?.runtime.b?.active, false, 'inactive at the destination')
      t.equal(d?.runtime.a?.properties, '{"temp":20}', 'runtime data stays at the source')
      const back = await store.moveDevice('pkM', 'dev1', { from: 'b', to: 'a', jobId: 'j3' })
      t.equal(back.result, 'moved')
      const home = await store.getDevice('pkM', 'dev1')
      t.equal(home?.runtime.a?.properties, '{"temp":20}', 'and is there again when it comes back')
      t.equal(home?.runtime.a?.active, false)
      t.equal((await store.moveDevice('pkM', 'nope', { from: 'a', to: 'b', jobId: 'j1' })).result, 'not-found')
    })

    t.test('concurrent moves of one device: exactly one wins', async t => {
      await store.createDevices([newDevice('pkR', 'dev1', 'a')])
      const results = await Promise.all(['b', 'c', 'd', 'e'].map((to, i) => store.moveDevice('pkR', 'dev1', { from: 'a', to, jobId: `j${i}` })))
      t.equal(results.filter(r => r.result === 'moved').length, 1)
      t.equal(results.filter(r => r.result === 'not-at-source').length, 3)
    })

    t.test('a batch move is the one-device move for each, in order, idempotent per job', async t => {
      await store.createDevices([newDevice('pkB', 'dev1', 'a'), newDevice('pkB', 'dev2', 'a'), newDevice('pkB', 'dev3', 'c')])
      await store.setTags('pkB', 'dev1', { k: 'v' })
      const first = await store.moveDevices('pkB', ['dev1', 'nope', 'dev2', 'dev3'], { from: 'a', to: 'b', jobId: 'jb' })
      t.same(first.map(o => o.result), ['moved', 'not-found', 'moved', 'not-at-source'])
      const d1 = await store.getDevice('pkB', 'dev1')
      t.match(d1, { instanceId: 'b', tags: {}, lastJobId: 'jb', runtime: { b: { active: false } } })
      const again = await store.moveDevices('pkB', ['dev2', 'dev1'], { from: 'a', to: 'b', jobId: 'jb' })
      t.same(again.map(o => o.result), ['already', 'already'])
      t.same(await store.moveDevices('pkB', [], { from: 'a', to: 'b', jobId: 'jb' }), [])
      const racing = await Promise.all([
        store.moveDevices('pkB', ['dev3'], { from: 'c', to: 'd', jobId: 'jr1' }),
        store.moveDevices('pkB', ['dev3'], { from: 'c', to: 'e', jobId: 'jr2' })
      ])
      t.same(racing.map(r => r[0]?.result).sort(), ['moved', 'not-at-source'], 'a device raced by two batches moves once')
    })

    t.test('a batch move given the records just read: a record changed since is read again, never overwritten', async t => {
      await store.createDevices(['s1', 's2', 's3', 's4'].map(dn => newDevice('pkS', dn, 'a')))
      const seen = await store.getDevices('pkS', ['s1', 's2', 's3', 's4'])
      // After the read: s2 moves elsewhere, s3 gets tags, s4 is moved by this very job.
      await store.moveDevice('pkS', 's2', { from: 'a', to: 'c', jobId: 'jOther' })
      await store.setTags('pkS', 's3', { late: 'yes' })
      await store.moveDevice('pkS', 's4', { from: 'a', to: 'b', jobId: 'jS' })
      const outcomes = await store.moveDevices('pkS', ['s1', 's2', 's3', 's4'], { from: 'a', to: 'b', jobId: 'jS' }, seen)
      t.same(outcomes.map(o => o.result), ['moved', 'not-at-source', 'moved', 'already'])
      t.equal((await store.getDevice('pkS', 's2'))?.instanceId, 'c', 'the move made since the read stands')
      t.match(await store.getDevice('pkS', 's3'), { instanceId: 'b', tags: {} }, 'moved from its current record')
      const stale = seen.map(d => d === null ? null : { ...d, instanceId: 'a' })
      await store.setTags('pkS', 's1', { again: 'yes' })
      t.same((await store.moveDevices('pkS', ['s1'], { from: 'a', to: 'b', jobId: 'jS' }, stale)).map(o => o.result), ['already'], 'copies the store never returned are read again')
    })

    t.test('events published in a batch arrive in order', async t => {
      const seen: string[] = []
      const sub = await store.consumeMoves('evBatch', 'n1', async e => { seen.push(e.deviceName) })
      await store.publishMoves(['d1', 'd2', 'd3'].map(dn => ({ jobId: 'j', productKey: 'pkE', deviceName: dn, fromInstanceId: 'evBatch', toInstanceId: 'evB' })))
      await store.publishMoves([])
      await until(() => seen.length === 3, 5000, 'three move events')
      t.same(seen, ['d1', 'd2', 'd3'])
      await sub.close()
    })

    t.test('a batch consumer gets what piled up while it worked in one batch, in order, and each event once', async t => {
      const batches: string[][] = []
      let release = (): void => {}
      const gate = new Promise<void>(resolve => { release = resolve })
      const event = (dn: string): MoveEvent => ({ jobId: 'j', productKey: 'pkE', deviceName: dn, fromInstanceId: 'evBatches', toInstanceId: 'evB' })
      const sub = await store.consumeMoveBatches('evBatches', 'n1', async events => {
        batches.push(events.map(e => e.deviceName))
        if (batches.length === 1) await gate
      })
      await store.publishMoves([event('d1')])
      await until(() => batches.length === 1, 5000, 'the first batch')
      await store.publishMoves(['d2', 'd3', 'd4'].map(event))
      release()
      await until(() => batches.flat().length === 4, 5000, 'four move events')
      t.same(batches, [['d1'], ['d2', 'd3', 'd4']])
      await sub.close()
      const again = await store.consumeMoveBatches('evBatches', 'n1', async events => { batches.push(events.map(e => e.deviceName)) })
      await store.publishMoves([event('d5')])
      await until(() => batches.flat().length === 5, 5000, 'the fifth event')
      t.same(batches.slice(2), [['d5']], 'acknowledged events are not handed over again')
      await again.close()
    })

    t.test('nearest access: candidates, then one placement however many bootstraps race', async t => {
      await store.createDevices([newDevice('pkN', 'dev1', 'a')])
      const candidates = [{ region: 'r1', instanceId: 'b' }, { region: 'r2', instanceId: 'c' }]
      t.equal((await store.setCandidates('pkN', 'dev1', { from: 'a', candidates, jobId: 'jn' })).result, 'moved')
      t.equal((await store.setCandidates('pkN', 'dev1', { from: 'a', candidates, jobId: 'jn' })).result, 'already')
      const waiting = await store.getDevice('pkN', 'dev1')
      t.equal(waiting?.instanceId, null)
      t.same(waiting?.candidates, candidates)
      const racers = await Promise.all(['b', 'c', 'b', 'c'].map(instanceId =>
        store.place('pkN', 'dev1', { instanceId, region: instanceId === 'b' ? 'r1' : 'r2', fallback: false, address: '8.8.8.8', at: 5 })))
      t.equal(racers.filter(r => r.result === 'placed').length, 1)
      const home = await store.getDevice('pkN', 'dev1')
      t.ok(home?.instanceId === 'b' || home?.instanceId === 'c')
      t.equal(home?.candidates, null)
      t.equal(home?.placement?.address, '8.8.8.8')
    })

    t.test('placement notes survive later writes of the record and read as part of it', async t => {
      await store.putRecords('jp', [{ productKey: 'pkP', deviceName: 'd1', code: 'success', message: 'moved to nearest placement' }])
      await store.notePlacement('jp', 'pkP', 'd1', 'placed at b in r1')
      await store.putRecords('jp', [{ productKey: 'pkP', deviceName: 'd1', code: 'success', message: 'moved to nearest placement; online; notified' }])
      await store.notePlacement('jp', 'pkP', 'd2', 'placed at c in r2 (fallback)')
      const records = (await store.getRecords('jp')).sort((a, b) => a.deviceName.localeCompare(b.deviceName))
        .map(({ productKey, deviceName, code, message }) => ({ productKey, deviceName, code, message }))
      t.same(records, [
        { productKey: 'pkP', deviceName: 'd1', code: 'success', message: 'moved to nearest placement; online; notified; placed at b in r1' },
        { productKey: 'pkP', deviceName: 'd2', code: 'success', message: 'placed at c in r2 (fallback)' }
      ])
    })

    t.test('verification codes: listed for the destination while valid, used once, never after they expire', async t => {
      const now = 1_000_000
      const pair = { sourceAccountId: 'src1', targetAccountId: 'dst1' }
      const first = code('src1', 'dst1', '123456', now)
      t.same(await store.issueCode(first, { now, maxPending: 5 }), { result: 'issued' })
      await store.issueCode(code('other', 'dst9', '999999', now), { now, maxPending: 5 })
      t.same((await store.codesFor('dst1', now + 1)).map(c => c.code), ['123456'], 'addressed to the destination')
      t.same(await store.codesFor('src1', now + 1), [], 'never to the sender')
      t.same(await store.checkCode(pair, '654321', check(now + 1)), { result: 'refused', failures: 1, voided: false }, 'wrong')
      t.same(await store.checkCode(pair, '123456', check(now + 1)), { result: 'accepted' })
      t.same(await store.checkCode(pair, '123456', check(now + 2)), { result: 'refused', failures: 1, voided: false }, 'used: refused, and the count started again after the success')
      await store.issueCode(code('src1', 'dst1', '222222', now), { now, maxPending: 5 })
      t.same(await store.checkCode(pair, '222222', check(now + 5 * MINUTE)), { result: 'refused', failures: 2, voided: false }, 'expired')
      t.same(await store.codesFor('dst1', now + 5 * MINUTE), [], 'not listed once expired')
      t.same(await store.checkCode({ sourceAccountId: 'src1', targetAccountId: 'dst9' }, '999999', check(now + 1)), { result: 'refused', failures: 1, voided: false }, 'another pair\'s code does not count')
    })

    t.test('verification codes: five wrong tries void the pending codes and lock the pair; then it opens again', async t => {
      const now = 2_000_000
      const pair = { sourceAccountId: 'src2', targetAccountId: 'dst2' }
      await store.issueCode(code('src2', 'dst2', '111111', now), { now, maxPending: 5 })
      for (let i = 1; i <= 4; i++) t.same(await store.checkCode(pair, `00000${i}`, check(now)), { result: 'refused', failures: i, voided: false })
      t.same(await store.checkCode(pair, '000005', check(now)), { result: 'refused', failures: 5, voided: true, until: now + 5 * MINUTE })
      t.same(await store.codesFor('dst2', now), [], 'the pending code is void')
      t.same(await store.checkCode(pair, '111111', check(now + 1)), { result: 'locked', until: now + 5 * MINUTE }, 'even the right code is not compared')
      t.same(await store.issueCode(code('src2', 'dst2', '333333', now + 1), { now: now + 1, maxPending: 5 }), { result: 'locked', until: now + 5 * MINUTE })
      const later = now + 5 * MINUTE
      t.same(await store.issueCode(code('src2', 'dst2', '444444', later), { now: later, maxPending: 5 }), { result: 'issued' })
      t.same(await store.checkCode(pair, '111111', check(later)), { result: 'refused', failures: 1, voided: false }, 'the voided code stays void')
      t.same(await store.checkCode(pair, '444444', check(later)), { result: 'accepted' })
    })

    t.test('verification codes: at most maxPending valid codes per pair', async t => {
      const now = 3_000_000
      for (let i = 0; i < 3; i++) t.same(await store.issueCode(code('src3', 'dst3', `55555${i}`, now + i), { now: now + i, maxPending: 3 }), { result: 'issued' })
      t.same(await store.issueCode(code('src3', 'dst3', '555559', now + 10), { now: now + 10, maxPending: 3 }), { result: 'too-many', retryAt: now + 5 * MINUTE })
      t.same(await store.issueCode(code('src3', 'dst3', '555559', now + 5 * MINUTE), { now: now + 5 * MINUTE, maxPending: 3 }), { result: 'issued' }, 'room again once the oldest expired')
    })

    t.test('verification codes: racing requests use a code once and never compare more than maxFailures guesses', async t => {
      const now = 4_000_000
      const pair = { sourceAccountId: 'src4', targetAccountId: 'dst4' }
      await store.issueCode(code('src4', 'dst4', '777777', now), { now, maxPending: 5 })
      const same = await Promise.all(Array.from({ length: 4 }, () => store.checkCode(pair, '777777', check(now))))
      t.equal(same.filter(r => r.result === 'accepted').length, 1, 'one of four identical requests wins')

      const brute = { sourceAccountId: 'src5', targetAccountId: 'dst5' }
      await store.issueCode(code('src5', 'dst5', '000019', now), { now, maxPending: 5 })
      const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => store.checkCode(brute, String(i).padStart(6, '0'), check(now))))
      t.ok(guesses.filter(r => r.result !== 'locked').length <= 5, 'at most five guesses were compared')
      t.equal(guesses.filter(r => r.result === 'accepted').length, 0, 'the twentieth guess never got compared')
      t.same(await store.codesFor('dst5', now), [])
    })

    t.test('move events reach every consumer once, including one that was away', async t => {
      const seen: Record<string, string[]> = { n1: [], n2: [] }
      const ev = (dn: string): MoveEvent => ({ jobId: 'j', productKey: 'pkE', deviceName: dn, fromInstanceId: 'evA', toInstanceId: 'evB' })
      const n1 = await store.consumeMoves('evA', 'n1', async e => { seen.n1?.push(e.deviceName) })
      const n2 = await store.consumeMoves('evA', 'n2', async e => { seen.n2?.push(e.deviceName) })
      await store.publishMove(ev('d1'))
      await until(() => seen.n1?.length === 1 && seen.n2?.length === 1, 5000, 'the first event on both nodes')
      await n2.close()
      await store.publishMove(ev('d2'))
      await store.publishMove({ ...ev('x'), fromInstanceId: 'other' })
      await until(() => seen.n1?.length === 2, 5000, 'the second event on node n1')
      const back = await store.consumeMoves('evA', 'n2', async e => { seen.n2?.push(e.deviceName) })
      await until(() => seen.n2?.length === 2, 5000, 'the second event on node n2')
      t.same(seen, { n1: ['d1', 'd2'], n2: ['d1', 'd2'] })
      await n1.close()
      await back.close()
    })

    t.test('disable and enable: idempotent, only where the device lives, refused by connect, kept by a move', async t => {
      await store.createDevices([newDevice('pkOff', 'dev1', 'a'), newDevice('pkOff', 'dev2', 'a')])
      const off = await store.disableDevice('pkOff', 'dev1', 'a')
      t.match(off, { result: 'changed', device: { enabled: false } })
      t.match(await store.disableDevice('pkOff', 'dev1', 'a'), { result: 'unchanged', device: { enabled: false } }, 'again: nothing written')
      t.equal((await store.getDevice('pkOff', 'dev1'))?.enabled, false)
      t.match(await store.enableDevice('pkOff', 'dev1', 'b'), { result: 'not-here' }, 'not at b: refused')
      t.equal((await store.getDevice('pkOff', 'dev1'))?.enabled, false)
      t.same(await store.disableDevice('pkOff', 'ghost', 'a'), { result: 'not-found' })
      const refused = await store.connected('pkOff', 'dev1', info('a', 's1'))
      t.equal(refused.result, 'disabled', 'a disabled device is not marked online')
      t.equal((await store.getDevice('pkOff', 'dev1'))?.online, null)
      t.match(await store.moveDevice('pkOff', 'dev1', { from: 'a', to: 'b', jobId: 'js1' }), { result: 'moved', device: { enabled: false, instanceId: 'b' } }, 'disabled at the destination too')
      t.match(await store.disableDevice('pkOff', 'dev1', 'a'), { result: 'not-here' }, 'the source no longer decides')
      t.match(await store.enableDevice('pkOff', 'dev1', 'b'), { result: 'changed', device: { enabled: true } })
      t.match(await store.enableDevice('pkOff', 'dev1', 'b'), { result: 'unchanged', device: { enabled: true } })
      t.equal((await store.connected('pkOff', 'dev1', info('b', 's2'))).result, 'ok', 'enabled: connects at once')
      await store.setCandidates('pkOff', 'dev2', { from: 'a', candidates: [{ region: 'r1', instanceId: 'b' }, { region: 'r2', instanceId: 'c' }], jobId: 'js2' })
      t.match(await store.disableDevice('pkOff', 'dev2', 'c'), { result: 'changed' }, 'a placement candidate is where it lives while it waits')
      const racing = await Promise.all([store.disableDevice('pkOff', 'dev2', 'c'), store.enableDevice('pkOff', 'dev2', 'c'), store.disableDevice('pkOff', 'dev2', 'b')])
      t.ok(racing.every(o => o.result === 'changed' || o.result === 'unchanged'), 'racing requests each apply atomically')
    })

    t.test('device events: many devices in one call, in order per device, newest first, capped, deleted with the device', async t => {
      const enabled = (at: number): DeviceEvent => ({ kind: 'enabled', at, instanceId: 'a' })
      const names = Array.from({ length: 60 }, (_, i) => `tl${i}`)
      await store.createDevices(names.map(dn => newDevice('pkTl', dn, 'a')))
      // Interleaved: each device's events keep their order, whatever the others do (and whichever node holds them).
      await store.appendDeviceEvents([1, 2, 3].flatMap(at => names.map(deviceName => ({ productKey: 'pkTl', deviceName, event: enabled(at) }))))
      for (const dn of names) t.same((await store.deviceEvents('pkTl', dn, 10)).map(e => e.at), [3, 2, 1], `${dn}: newest first`)
      t.same((await store.deviceEvents('pkTl', 'tl0', 2)).map(e => e.at), [3, 2], 'a limit answers the newest')
      const connected: DeviceEvent = { kind: 'connected', at: 4, instanceId: 'a', nodeId: 'n1', address: '203.0.113.9', transport: 'mqtt', sdk: 'c', sdkVersion: 'sdk-c-4.0.0' }
      await store.appendDeviceEvents([{ productKey: 'pkTl', deviceName: 'tl0', event: connected }])
      t.same((await store.deviceEvents('pkTl', 'tl0', 1))[0], connected, 'an event reads back as written')

      // The cap: one call over it, then one more call.
      const over = Array.from({ length: DEVICE_EVENTS_KEPT + 20 }, (_, i) => ({ productKey: 'pkTl', deviceName: 'tl1', event: enabled(100 + i) }))
      await store.appendDeviceEvents(over)
      await store.appendDeviceEvents([{ productKey: 'pkTl', deviceName: 'tl1', event: enabled(9999) }])
      const kept = await store.deviceEvents('pkTl', 'tl1', 10_000)
      t.equal(kept.length, DEVICE_EVENTS_KEPT, `only the last ${DEVICE_EVENTS_KEPT} are kept`)
      t.equal(kept[0]?.at, 9999, 'the newest first')
      t.equal(kept.at(-1)?.at, 100 + 20 + 1, 'the oldest ones went')

      t.same(await store.deviceEvents('pkTl', 'nobody', 10), [], 'a device without events has none')
      await store.deleteDevice('pkTl', 'tl0')
      t.same(await store.deviceEvents('pkTl', 'tl0', 10), [], 'deleted with the device')
      await store.createDevices([newDevice('pkTl', 'tl0', 'a')])
      t.same(await store.deviceEvents('pkTl', 'tl0', 10), [], 'a new device of the same name starts with an empty timeline')
      await store.appendDeviceEvents([])
    })

    t.test('the online and offline marks write their timeline event in the same step, only when they write', async t => {
      const connected = (at: number): DeviceEvent => ({ kind: 'connected', at, instanceId: 'a', nodeId: 'n1', address: '203.0.113.9', transport: 'mqtt', sdk: 'c', sdkVersion: null })
      const disconnected = (at: number): DeviceEvent => ({ kind: 'disconnected', at, instanceId: 'a', nodeId: 'n1', reason: 'client' })
      const ats = async (dn: string): Promise<number[]> => (await store.deviceEvents('pkEv', dn, 10_000)).map(e => e.at)
      await store.createDevices([newDevice('pkEv', 'dev1', 'a'), newDevice('pkEv', 'dev2', 'a')])

      t.equal((await store.connected('pkEv', 'dev1', { ...info('b', 's0'), event: connected(1) })).result, 'not-assigned')
      await store.disableDevice('pkEv', 'dev2', 'a')
      t.equal((await store.connected('pkEv', 'dev2', { ...info('a', 's0'), event: connected(2) })).result, 'disabled')
      t.equal((await store.connected('pkEv', 'ghost', { ...info('a', 's0'), event: connected(3) })).result, 'not-found')
      t.same([await ats('dev1'), await ats('dev2'), await ats('ghost')], [[], [], []], 'a refused mark writes no event')

      t.equal((await store.connected('pkEv', 'dev1', { ...info('a', 's1'), at: 10, event: connected(10) })).result, 'ok')
      t.same(await store.deviceEvents('pkEv', 'dev1', 10), [connected(10)], 'the mark wrote its event')
      // A stale read: the compare-and-set fails once and is retried; the event is written once.
      const stale = await store.getDevice('pkEv', 'dev1')
      await store.setTags('pkEv', 'dev1', { room: 'hall' })
      t.equal((await store.connected('pkEv', 'dev1', { ...info('a', 's2'), at: 20, event: connected(20) }, stale ?? undefined)).result, 'ok')
      t.same(await ats('dev1'), [20, 10], 'once, however many tries the mark took')
      t.equal((await store.getDevice('pkEv', 'dev1'))?.online?.session, 's2')

      t.equal(await store.disconnected('pkEv', 'dev1', 's1', 25, disconnected(25)), false, 'an older session clears nothing')
      t.same(await ats('dev1'), [20, 10], 'and writes no event: the caller writes it another way')
      t.equal(await store.disconnected('pkEv', 'dev1', 's2', 30, disconnected(30)), true)
      t.same(await store.deviceEvents('pkEv', 'dev1', 1), [disconnected(30)], 'the offline mark wrote its event')
      t.equal((await store.getDevice('pkEv', 'dev1'))?.online, null)
      t.equal(await store.disconnected('pkEv', 'dev1', 's2', 35, disconnected(35)), false, 'again: nothing to clear')
      t.equal(await store.disconnected('pkEv', 'ghost', 's2', 35, disconnected(35)), false, 'no device: nothing to clear')
      t.same([await ats('dev1'), await ats('ghost')], [[30, 20, 10], []], 'nor any event')

      t.equal((await store.connected('pkEv', 'dev1', info('a', 's3'))).result, 'ok')
      t.equal(await store.disconnected('pkEv', 'dev1', 's3', 40), true)
      t.same(await ats('dev1'), [30, 20, 10], 'marks without an event write none')

      // Capped as appendDeviceEvents caps.
      await store.appendDeviceEvents(Array.from({ length: DEVICE_EVENTS_KEPT }, (_, i) => ({ productKey: 'pkEv', deviceName: 'dev1', event: disconnected(100 + i) })))
      t.equal((await store.connected('pkEv', 'dev1', { ...info('a', 's4'), event: connected(9999) })).result, 'ok')
      const kept = await ats('dev1')
      t.equal(kept.length, DEVICE_EVENTS_KEPT, `the last ${DEVICE_EVENTS_KEPT} kept`)
      t.same([kept[0], kept.at(-1)], [9999, 101], 'the mark\'s event newest, the oldest gone')
    })

    t.test('disconnect events share the instance log with moves, in order', async t => {
      const seen: MoveEvent[] = []
      const sub = await store.consumeMoves('evCut', 'n1', async e => { seen.push(e) })
      await store.publishMove({ jobId: 'j', productKey: 'pkE', deviceName: 'd1', fromInstanceId: 'evCut', toInstanceId: 'evB' })
      await store.publishMove({ kind: 'disconnect', reason: 'disabled', productKey: 'pkE', deviceName: 'd2', fromInstanceId: 'evCut', at: 5 })
      await store.publishMove({ kind: 'disconnect', reason: 'deleted', productKey: 'pkE', deviceName: 'd3', fromInstanceId: 'evCut', at: 6 })
      await until(() => seen.length === 3)
      t.same(seen.map(e => e.kind === 'disconnect' ? `${e.deviceName}:${e.reason}` : e.deviceName), ['d1', 'd2:disabled', 'd3:deleted'])
      await sub.close()
    })

    t.test('records keep a move\'s stage as data; old-form records read with their stage; published marks survive rewrites', async t => {
      const moved = { productKey: 'pkS', deviceName: 'd1', code: 'success', message: 'moved to b', move: { stage: 'moved' as const, to: 'b' } }
      await store.putRecords('js', [
        moved,
        // As written before stages were stored: code and message only.
        { productKey: 'pkS', deviceName: 'd2', code: 'success', message: 'moved to nearest placement; online; no answer; disconnected' },
        { productKey: 'pkS', deviceName: 'd3', code: 'device_not_found', message: 'device d3 does not exist in product pkS' }
      ])
      await store.markAnnounced('js', [{ productKey: 'pkS', deviceName: 'd1' }])
      // The old broker completes d1's record after the runner marked its event published.
      await store.putRecords('js', [{ ...moved, message: 'moved to b; online; notified; answered; disconnected', move: { stage: 'kicked', to: 'b', kick: { notified: true, answered: true, disconnected: true } } }])
      const records = (await store.getRecords('js')).sort((a, b) => a.deviceName.localeCompare(b.deviceName))
      t.same(records, [
        { productKey: 'pkS', deviceName: 'd1', code: 'success', message: 'moved to b; online; notified; answered; disconnected', move: { stage: 'kicked', to: 'b', kick: { notified: true, answered: true, disconnected: true }, announced: true } },
        { productKey: 'pkS', deviceName: 'd2', code: 'success', message: 'moved to nearest placement; online; no answer; disconnected', move: { stage: 'kicked', to: null, kick: { notified: false, answered: false, disconnected: true } } },
        { productKey: 'pkS', deviceName: 'd3', code: 'device_not_found', message: 'device d3 does not exist in product pkS' }
      ])
    })

    indexCases(t, store)

    t.test('jobs: stored, listed per account, leased, records upserted', async t => {
      await store.createJob(job('j1', { createdAt: 1 }))
      await store.createJob(job('j2', { createdAt: 2, productKey: 'pk2' }))
      await store.createJob(job('j3', { createdAt: 3, accountId: 'other' }))
      const listed = await store.listJobs({ accountId: 'acme', offset: 0, limit: 10 })
      t.same(listed.jobs.map(j => j.id), ['j2', 'j1'])
      t.equal(listed.total, 2)
      t.same((await store.listJobs({ accountId: 'acme', productKey: 'pk1', offset: 0, limit: 10 })).jobs.map(j => j.id), ['j1'])
      t.same((await store.listJobs({ accountId: 'acme', offset: 1, limit: 1 })).jobs.map(j => j.id), ['j1'])
      t.ok((await store.unfinishedJobs()).includes('j1'))
      const j1 = await store.getJob('j1')
      if (j1 === null) throw new Error('j1 missing')
      await store.updateJob({ ...j1, status: 'distributed' })
      t.notOk((await store.unfinishedJobs()).includes('j1'))
      t.same((await store.listJobs({ accountId: 'acme', status: 'distributed', offset: 0, limit: 10 })).jobs.map(j => j.id), ['j1'])
      t.equal(await store.getJob('missing'), null)

      t.equal(await store.leaseJob('j2', 'r1', 60_000), true)
      t.equal(await store.leaseJob('j2', 'r2', 60_000), false, 'another live owner holds it')
      t.equal(await store.leaseJob('j2', 'r1', 60_000), true, 'the owner renews')
      await store.releaseJob('j2', 'r2')
      t.equal(await store.leaseJob('j2', 'r2', 60_000), false, 'only the owner releases')
      await store.releaseJob('j2', 'r1')
      t.equal(await store.leaseJob('j2', 'r2', 50), true)
      await new Promise(resolve => setTimeout(resolve, 80))
      t.equal(await store.leaseJob('j2', 'r3', 60_000), true, 'an expired lease is free')

      await store.putRecords('j2', [{ productKey: 'pk2', deviceName: 'd1', code: 'pending', message: '' }, { productKey: 'pk2', deviceName: 'd2', code: 'ok', message: '' }])
      await store.putRecords('j2', [{ productKey: 'pk2', deviceName: 'd1', code: 'ok', message: 'moved' }])
      const records = (await store.getRecords('j2')).sort((a, b) => a.deviceName.localeCompare(b.deviceName))
      t.same(records.map(r => `${r.deviceName}:${r.code}`), ['d1:ok', 'd2:ok'])
    })

    t.test('connection samples: kept per instance and node, a retried write once, trimmed by time, a silent node drops out', async t => {
      const sample = (at: number, connections: number) => ({ at, connections })
      await store.recordConnectionSamples('hist-a', 'n1', [sample(1000, 3), sample(2000, 4)], 10_000)
      await store.recordConnectionSamples('hist-a', 'n1', [sample(2000, 4)], 10_000)
      await store.recordConnectionSamples('hist-a', 'n2', [sample(1500, 1)], 10_000)
      await store.recordConnectionSamples('hist-b', 'n1', [sample(1500, 9)], 10_000)
      t.same(await store.connectionHistory('hist-a', 0), [
        { nodeId: 'n1', samples: [sample(1000, 3), sample(2000, 4)] },
        { nodeId: 'n2', samples: [sample(1500, 1)] }
      ])
      t.same(await store.connectionHistory('hist-a', 1600), [{ nodeId: 'n1', samples: [sample(2000, 4)] }], 'only samples since the time asked for')
      t.same(await store.connectionHistory('hist-b', 0), [{ nodeId: 'n1', samples: [sample(1500, 9)] }], 'each instance its own')
      await store.recordConnectionSamples('hist-a', 'n1', [sample(12_500, 0)], 10_000)
      t.same(await store.connectionHistory('hist-a', 0), [{ nodeId: 'n1', samples: [sample(12_500, 0)] }], 'older than 10 s before the newest: gone, and n2 with them')
      t.same(await store.connectionHistory('nobody', 0), [])
    })
  })
}

export async function until (check: () => boolean, timeoutMs = 5000, what = 'a condition of this test'): Promise<void> {
  await eventually(check, what, { ms: timeoutMs, every: 10 })
}
