// A distribution job of offline devices, registry work only (no broker is involved): a real sidecar
// and job runner over the given store, POST /api/v1/distribution/jobs with every device -> 202 ->
// `distributed`, timed from the POST. Used by bench/jobs.ts and the registry scenario.
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { parseConfig, Topology } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { silentLogger } from '../shared/log.js'
import type { Store } from '../shared/store/store.js'

export const JOBS_PK = 'a1benchJobs'
const TOKEN = 'bench-token-0123456789abcdef'

const config = parseConfig({
  bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 1000, bodyLimit: 4 * 1024 * 1024 },
  regions: [{ id: 'r1', name: 'Region 1', lat: 0, lon: 0 }],
  accounts: [{ id: 'bench', name: 'Bench', token: TOKEN }],
  instances: [
    { id: 'inst-a', region: 'r1', account: 'bench', endpoint: { host: 'a.example.com', port: 1883 } },
    { id: 'inst-b', region: 'r1', account: 'bench', endpoint: { host: 'b.example.com', port: 1883 } }
  ]
})

export interface JobTiming { accepted: number, distributed: number }

export interface JobBenchOptions {
  devices: number
  runs: number
  /** Devices the runner moves per batch. */
  batch: number
  /** Called after each run. */
  onRun?: (run: number, timing: JobTiming) => void
}

/** Names of the devices a job bench creates. */
export const jobDeviceNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `bench-${String(i).padStart(6, '0')}`)

/** One job of every device from wherever they are to the other instance, timed from the POST. */
async function oneJob (url: string, from: string, to: string, names: string[]): Promise<JobTiming> {
  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }
  const t0 = performance.now()
  const res = await fetch(`${url}/api/v1/distribution/jobs`, {
    method: 'POST', headers, body: JSON.stringify({ method: 'this-account', policy: 'region', sourceInstanceId: from, targetInstanceId: to, productKey: JOBS_PK, deviceNames: names })
  })
  const { jobId } = await res.json() as { jobId: string }
  if (res.status !== 202) throw new Error(`job refused: ${res.status}`)
  const accepted = performance.now() - t0
  for (;;) {
    const job = await (await fetch(`${url}/api/v1/distribution/jobs/${jobId}`, { headers })).json() as { status: string, counts: { succeeded: number } }
    if (job.status === 'distributed') {
      if (job.counts.succeeded !== names.length) throw new Error(`only ${job.counts.succeeded} of ${names.length} moved`)
      return { accepted, distributed: performance.now() - t0 }
    }
    if (job.status === 'failed') throw new Error('job failed')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Creates the product and its devices in `store`, then times `runs` jobs moving all of them back and forth. */
export async function timeJobs (store: Store, o: JobBenchOptions): Promise<JobTiming[]> {
  const names = jobDeviceNames(o.devices)
  const now = Date.now()
  await store.createProduct({ productKey: JOBS_PK, instanceId: 'inst-a', name: 'Bench', topicCategories: [], tsl: null, parsingScript: null, readOnly: false, sourceInstanceId: null, createdAt: now, updatedAt: now })
  for (let i = 0; i < names.length; i += 1000) await store.createDevices(names.slice(i, i + 1000).map(dn => newDevice(JOBS_PK, dn, 'inst-a')))
  const server = await startSidecar({ config, topology: new Topology(config), store, log: silentLogger }, { port: 0 })
  const runner = new JobRunner({ store, topology: new Topology(config), pollMs: config.bootstrap.jobPollMs, batchSize: o.batch })
  runner.start()
  const url = `http://127.0.0.1:${server.port}`
  const timings: JobTiming[] = []
  try {
    // Back and forth: each run moves every device (A -> B, B -> A, ...).
    for (let run = 0; run < o.runs; run++) {
      const [from, to] = run % 2 === 0 ? ['inst-a', 'inst-b'] : ['inst-b', 'inst-a']
      const timing = await oneJob(url, from as string, to as string, names)
      timings.push(timing)
      o.onRun?.(run, timing)
    }
  } finally {
    await runner.close()
    await server.close()
  }
  return timings
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
