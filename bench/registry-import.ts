// `homing devices import PK --count N` as an operator runs it (bin/homing.ts through tsx, so the bench
// needs no build), against a running sidecar; the certificates it prints go to a CSV file.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Certificate } from '../shared/types.js'

const HOMING = fileURLToPath(new URL('../bin/homing.ts', import.meta.url))

export interface ImportRun {
  devices: number
  ms: number
}

/** Runs the import of `count` devices, certificates appended to `csvFile`; resolves with the wall time. */
export async function importDevices (o: { url: string, token: string, productKey: string, instanceId: string, count: number, csvFile: string }): Promise<ImportRun> {
  const out = createWriteStream(o.csvFile, { flags: 'a' })
  await once(out, 'open')
  const t0 = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', HOMING, 'devices', 'import', o.productKey, '--count', String(o.count), '--instance', o.instanceId, '--url', o.url], {
    env: { ...process.env, HOMING_TOKEN: o.token },
    stdio: ['ignore', out, 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000) })
  const [code] = await once(child, 'exit') as [number | null]
  const ms = performance.now() - t0
  out.close()
  if (code !== 0) throw new Error(`homing devices import exited ${code}: ${stderr.trim()}`)
  const created = /created (\d+) devices/.exec(stderr)
  if (created === null || Number(created[1]) !== o.count) throw new Error(`homing devices import: expected ${o.count} devices, said: ${stderr.trim()}`)
  return { devices: o.count, ms }
}

/** The first `n` certificates of an import's CSV. */
export async function readCertificates (csvFile: string, n: number): Promise<Certificate[]> {
  const out: Certificate[] = []
  const lines = createInterface({ input: createReadStream(csvFile), crlfDelay: Infinity })
  for await (const line of lines) {
    if (line.startsWith('productKey,')) continue
    const [productKey = '', deviceName = '', deviceSecret = ''] = line.split(',')
    out.push({ productKey, deviceName, deviceSecret })
    if (out.length >= n) break
  }
  lines.close()
  return out
}
