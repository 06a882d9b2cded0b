// `homing distribute`, `homing job show|records|list|retry`: operator commands over the REST API, run
// as an operator runs them (the bin, in a child process) against a live sidecar.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'
import { eventually } from './helpers/wait.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store, undefined, { jobs: true })
const dir = mkdtempSync(join(tmpdir(), 'homing-cli-'))
t.teardown(async () => {
  await sidecar.close()
  rmSync(dir, { recursive: true, force: true })
})
const acme = apiClient(sidecar.url, TOKENS.acme)
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: 'a1lampCli01' })
await acme('POST', '/products/a1lampCli01/devices', { instanceId: 'iot-sh-1', deviceNames: ['cli-0001', 'cli-0002', 'cli-0003', 'cli-0004'] })

interface Result { code: number, stdout: string, stderr: string }

function homing (args: string[], env: Record<string, string> = { HOMING_URL: sidecar.url, HOMING_TOKEN: TOKENS.acme }): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, ['bin/homing.js', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}

// Each start of the bin costs a second or more: the commands run in two rounds of parallel processes.
const file = join(dir, 'devices.csv')
writeFileSync(file, 'productKey,deviceName\na1lampCli01,cli-0002\na1lampCli01,cli-0003\n')
const [byNames, byCsv, noWait, refused, badFile] = await Promise.all([
  homing(['distribute', '--source', 'iot-sh-1', '--target', 'iot-de-1', '--product', 'a1lampCli01', '--devices', 'cli-0001,ghost-001', '--rate', '100', '--wait']),
  homing(['distribute', '--url', sidecar.url, '--token', TOKENS.acme, '--source', 'iot-sh-1', '--target', 'iot-de-1', '--product', 'a1lampCli01', '--csv', file, '--rate', '50', '--wave-size', '1', '--wave-pause', '0', '--settle-timeout', '60', '--wait'], {}),
  homing(['distribute', '--source', 'iot-sh-1', '--target', 'iot-de-1', '--product', 'a1lampCli01', '--devices', 'late-0001']),
  homing(['distribute', '--source', 'iot-sh-1', '--target', 'iot-sh-1', '--product', 'a1lampCli01', '--devices', 'cli-0004']),
  homing(['distribute', '--source', 'iot-sh-1', '--target', 'iot-de-1', '--product', 'a1lampCli01', '--csv', join(dir, 'none.csv')])
])
const job = JSON.parse(byNames.stdout)
const started = JSON.parse(noWait.stdout)
await eventually(async () => (await acme('GET', `/distribution/jobs/${started.jobId}`)).json.status === 'distributed', 'the job started without --wait to end distributed', { ms: 15_000 })
await acme('POST', '/products/a1lampCli01/devices', { instanceId: 'iot-sh-1', deviceNames: ['late-0001'] })
const [show, missing, records, list, retry] = await Promise.all([
  homing(['job', 'show', job.id]),
  homing(['job', 'show', 'jnope']),
  homing(['job', 'records', job.id]),
  homing(['job', 'list', '--product', 'a1lampCli01', '--page-size', '2']),
  homing(['job', 'retry', started.jobId])
])

t.test('distribute --devices --wait prints the finished job; job show and job records read it back', async t => {
  // One device of two failed: the job is printed, and the exit code (3) and stderr say so.
  t.equal(byNames.code, 3, byNames.stderr)
  t.match(byNames.stderr, /ended with 1 of 2 devices failed; `homing job records j/)
  t.match(job, { status: 'distributed', productKey: 'a1lampCli01', counts: { total: 2, succeeded: 1, failed: 1, pending: 0 } })
  t.match(job.pace, { rate: 100 }, '--rate reached the job')
  t.same(JSON.parse(show.stdout), job)
  t.same(parse(records.stdout), [
    ['productKey', 'deviceName', 'code', 'message'],
    ['a1lampCli01', 'cli-0001', 'success', 'moved to iot-de-1; offline'],
    ['a1lampCli01', 'ghost-001', 'device_not_found', 'device ghost-001 does not exist in product a1lampCli01']
  ])
})

t.test('distribute --csv uploads a device list; --url and --token work as flags', async t => {
  t.equal(byCsv.code, 0, byCsv.stderr)
  t.match(JSON.parse(byCsv.stdout), { status: 'distributed', counts: { total: 2, succeeded: 2 } })
  t.match(JSON.parse(byCsv.stdout), { pace: { rate: 50, waveSize: 1, wavePauseSeconds: 0 }, settling: { timeoutSeconds: 60 } }, 'the pace flags reached the job as form fields')
  t.equal((await store.getDevice('a1lampCli01', 'cli-0003'))?.instanceId, 'iot-de-1')
})

t.test('without --wait it prints the accepted job; list and retry reach the API too', async t => {
  t.equal(noWait.code, 0, noWait.stderr)
  t.match(started, { jobId: /^j/, status: 'initializing' })
  t.match(JSON.parse(list.stdout), { total: 3, limit: 2 })
  t.equal(JSON.parse(list.stdout).jobs.length, 2)
  t.same(JSON.parse(retry.stdout), { jobId: started.jobId, status: 'distributing' })
})

t.test('an API refusal is the error message on stderr and exit code 1', async t => {
  t.same([refused.code, refused.stdout, refused.stderr], [1, '', 'homing: 400: targetInstanceId is the source instance\n'])
  t.same([missing.code, missing.stderr], [1, 'homing: 404: job "jnope" not found\n'])
  t.same([badFile.code, badFile.stderr], [1, `homing: cannot read ${join(dir, 'none.csv')}: ENOENT\n`])
  t.equal((await store.getDevice('a1lampCli01', 'cli-0004'))?.instanceId, 'iot-sh-1', 'nothing moved')
})
