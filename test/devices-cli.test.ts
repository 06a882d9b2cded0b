// `homing devices disable|enable|events`: operator commands over the REST API, run as an operator runs
// them (the bin, in a child process) against a live sidecar.
import { execFile } from 'node:child_process'
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store)
t.teardown(() => sidecar.close())
const acme = apiClient(sidecar.url, TOKENS.acme)
const PK = 'a1devCli01'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK })
await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['cli-0001', 'cli-0002', 'cli-0003', 'cli-0004'] })
await acme('POST', `/products/${PK}/devices/cli-0003/disable`)
await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['cli-0005'] })
await acme('PUT', `/products/${PK}/devices/cli-0005/tags`, { room: 'hall', floor: '2' })

interface Result { code: number, stdout: string, stderr: string }

function homing (args: string[], env: Record<string, string> = { HOMING_URL: sidecar.url, HOMING_TOKEN: TOKENS.acme }): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, ['bin/homing.js', ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}

// Each start of the bin costs a second or more: the commands run side by side.
const [disabled, atInstance, enabled, notYours, noToken, eventsJson, eventsTable, eventsCsv, eventsLimited] = await Promise.all([
  homing(['devices', 'disable', PK, 'cli-0001']),
  homing(['devices', 'disable', PK, 'cli-0002', '--instance', 'iot-sh-1']),
  homing(['devices', 'enable', '--url', sidecar.url, '--token', TOKENS.acme, PK, 'cli-0003'], {}),
  homing(['devices', 'disable', PK, 'cli-0004'], { HOMING_URL: sidecar.url, HOMING_TOKEN: TOKENS.globex }),
  homing(['devices', 'disable', PK, 'cli-0004'], { HOMING_URL: sidecar.url }),
  homing(['devices', 'events', PK, 'cli-0005']),
  homing(['devices', 'events', PK, 'cli-0005', '--output', 'table']),
  homing(['devices', 'events', PK, 'cli-0005', '--output', 'csv']),
  homing(['devices', 'events', PK, 'cli-0005', '--limit', '1', '--output', 'csv'])
])

t.test('devices disable prints the device, now disabled', async t => {
  t.equal(disabled.code, 0, disabled.stderr)
  t.match(JSON.parse(disabled.stdout), { productKey: PK, deviceName: 'cli-0001', instanceId: 'iot-sh-1', status: 'disabled', enabled: false })
  t.equal((await store.getDevice(PK, 'cli-0001'))?.enabled, false)
  t.equal(atInstance.code, 0, atInstance.stderr)
  t.match(JSON.parse(atInstance.stdout), { deviceName: 'cli-0002', status: 'disabled' })
})

t.test('devices enable prints the device, enabled again; --url and --token work as flags', async t => {
  t.equal(enabled.code, 0, enabled.stderr)
  t.match(JSON.parse(enabled.stdout), { deviceName: 'cli-0003', status: 'inactive', enabled: true })
  t.equal((await store.getDevice(PK, 'cli-0003'))?.enabled, true)
})

t.test('another account\'s device: the API\'s 404 on stderr, exit code 1, nothing changed', async t => {
  t.equal(notYours.code, 1)
  t.equal(notYours.stdout, '')
  t.match(notYours.stderr, /^homing: 404: device "a1devCli01\/cli-0004" not found\n$/)
  t.equal((await store.getDevice(PK, 'cli-0004'))?.enabled, true)
})

t.test('without a token the command says so and calls nothing', async t => {
  t.not(noToken.code, 0)
  t.match(noToken.stderr, /--token/)
  t.equal((await store.getDevice(PK, 'cli-0004'))?.enabled, true)
})

t.test('devices events prints the timeline, newest first, as JSON, a table or CSV', async t => {
  t.equal(eventsJson.code, 0, eventsJson.stderr)
  t.match(JSON.parse(eventsJson.stdout), { productKey: PK, deviceName: 'cli-0005', events: [{ kind: 'tags', count: 2, instanceId: 'iot-sh-1' }, { kind: 'created', instanceId: 'iot-sh-1' }] })
  t.equal(eventsTable.code, 0, eventsTable.stderr)
  const lines = eventsTable.stdout.trim().split('\n')
  t.match(lines[0], /^AT\s+KIND\s+INSTANCE\s+DETAILS$/)
  t.match(lines[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+tags\s+iot-sh-1\s+count=2$/, 'times a person reads, the kind\'s own fields in words')
  t.match(lines[2], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+created\s+iot-sh-1$/)
  t.equal(eventsCsv.code, 0, eventsCsv.stderr)
  const csv = eventsCsv.stdout.trim().split('\n')
  t.equal(csv[0], 'at,kind,instance,details')
  t.match(csv[1], /^\d{4}-\d\d-\d\dT[\d:.]+Z,tags,iot-sh-1,count=2$/)
  t.equal(eventsLimited.stdout.trim().split('\n').length, 2, '--limit 1: the header and the newest event')
})
