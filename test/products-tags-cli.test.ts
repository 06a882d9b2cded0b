// `homing products update` and `homing devices tags`: operator commands over the REST API, run as an
// operator runs them (the bin, in a child process) against a live sidecar.
import { execFile } from 'node:child_process'
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store)
t.teardown(() => sidecar.close())
const acme = apiClient(sidecar.url, TOKENS.acme)
const PK = 'a1cliUpdate1'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK })
await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['tag-0001', 'tag-0002', 'tag-0003', 'tag-0004'] })
await acme('PUT', `/products/${PK}/devices/tag-0002/tags`, { room: 'hall', floor: '1' })
await acme('PUT', `/products/${PK}/devices/tag-0003/tags`, { room: 'attic' })

interface Result { code: number, stdout: string, stderr: string }

function homing (args: string[], env: Record<string, string> = { HOMING_URL: sidecar.url, HOMING_TOKEN: TOKENS.acme }): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, ['bin/homing.js', ...args], { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}

// Each start of the bin costs a second or more: the commands run side by side, each on its own device.
const [renamed, nothing, notYours, tagged, shown, cleared, badPair, table] = await Promise.all([
  homing(['products', 'update', PK, '--name', 'Desk lamp', '--description', 'Lamps of the office, floor 2', '--instance', 'iot-sh-1']),
  homing(['products', 'update', PK]),
  homing(['products', 'update', PK, '--name', 'Mine'], { HOMING_URL: sidecar.url, HOMING_TOKEN: TOKENS.globex }),
  homing(['devices', 'tags', PK, 'tag-0001', 'room=kitchen', 'note=a=b']),
  homing(['devices', 'tags', PK, 'tag-0002']),
  homing(['devices', 'tags', PK, 'tag-0003', '--clear']),
  homing(['devices', 'tags', PK, 'tag-0004', 'room']),
  homing(['devices', 'tags', PK, 'tag-0002', '--output', 'table'])
])

t.test('products update changes the name and the description, and prints the product', async t => {
  t.equal(renamed.code, 0, renamed.stderr)
  t.match(JSON.parse(renamed.stdout), { productKey: PK, name: 'Desk lamp', description: 'Lamps of the office, floor 2' })
  t.match(await store.getProduct(PK, 'iot-sh-1'), { name: 'Desk lamp', description: 'Lamps of the office, floor 2' })
  t.match((await acme('GET', `/products/${PK}`)).json, { description: 'Lamps of the office, floor 2' }, 'the API shows it too')
})

t.test('products update with nothing to change says what to give and calls nothing', async t => {
  t.equal(nothing.code, 1)
  t.equal(nothing.stderr, 'homing: nothing to change: give --name or --description\n')
})

t.test('products update of another account\'s product: the API\'s 404, nothing changed', async t => {
  t.equal(notYours.code, 1)
  t.match(notYours.stderr, /^homing: 404: product "a1cliUpdate1" not found\n$/)
  t.not((await store.getProduct(PK, 'iot-sh-1'))?.name, 'Mine')
})

t.test('devices tags with key=value pairs replaces the tags (a value may hold "=")', async t => {
  t.equal(tagged.code, 0, tagged.stderr)
  t.same(JSON.parse(tagged.stdout), { tags: { room: 'kitchen', note: 'a=b' } })
  t.same((await store.getDevice(PK, 'tag-0001'))?.tags, { room: 'kitchen', note: 'a=b' })
})

t.test('devices tags without pairs shows them, as JSON or as a table', async t => {
  t.equal(shown.code, 0, shown.stderr)
  t.same(JSON.parse(shown.stdout), { tags: { room: 'hall', floor: '1' } })
  t.equal(table.code, 0, table.stderr)
  t.match(table.stdout, /^KEY\s+VALUE\nroom\s+hall\nfloor\s+1\n$/)
})

t.test('devices tags --clear removes every tag', async t => {
  t.equal(cleared.code, 0, cleared.stderr)
  t.same(JSON.parse(cleared.stdout), { tags: {} })
  t.same((await store.getDevice(PK, 'tag-0003'))?.tags, {})
})

t.test('a pair without "=" is refused before anything is sent', async t => {
  t.equal(badPair.code, 1)
  t.equal(badPair.stderr, 'homing: "room" is not a tag: write key=value\n')
  t.same((await store.getDevice(PK, 'tag-0004'))?.tags, {})
})
