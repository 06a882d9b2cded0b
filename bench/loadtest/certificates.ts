// Where a load test's devices come from: a CSV of certificates, or the REST API (README.md,
// "Management API": POST /products, POST /products/:pk/devices).
import { readFile, writeFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import type { Certificate } from '../../shared/types.js'

export class CertificateFileError extends Error {}

/** `productKey,deviceName,deviceSecret` with that header line (extra columns ignored). */
export function parseCertificates (text: string, source = 'certificates'): Certificate[] {
  let rows: Record<string, string>[]
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true })
  } catch (err) {
    throw new CertificateFileError(`${source}: not CSV (${(err as Error).message})`)
  }
  return rows.map((row, i) => {
    const { productKey, deviceName, deviceSecret } = row
    if (!productKey || !deviceName || !deviceSecret) {
      throw new CertificateFileError(`${source}: row ${i + 2} needs productKey, deviceName and deviceSecret (header: productKey,deviceName,deviceSecret)`)
    }
    return { productKey, deviceName, deviceSecret }
  })
}

export async function readCertificates (file: string): Promise<Certificate[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new CertificateFileError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
  return parseCertificates(text, file)
}

export function formatCertificates (certs: Certificate[]): string {
  return 'productKey,deviceName,deviceSecret\n' + certs.map(c => `${c.productKey},${c.deviceName},${c.deviceSecret}`).join('\n') + '\n'
}

export async function writeCertificates (file: string, certs: Certificate[]): Promise<void> {
  await writeFile(file, formatCertificates(certs), { mode: 0o600 })
}

export class ApiCallError extends Error {}

async function call (url: string, token: string, body: unknown): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  } catch (err) {
    throw new ApiCallError(`POST ${url}: ${(err as Error).message}`)
  }
  const text = await res.text()
  if (!res.ok) {
    let message = text.slice(0, 300)
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message
    } catch {}
    throw new ApiCallError(`POST ${url}: ${res.status} ${message}`)
  }
  return JSON.parse(text)
}

const isCertificate = (x: unknown): x is Certificate =>
  typeof x === 'object' && x !== null && typeof (x as Certificate).productKey === 'string' &&
  typeof (x as Certificate).deviceName === 'string' && typeof (x as Certificate).deviceSecret === 'string'

/** The certificates of a create-devices answer: a list, or a list under `devices` or `certificates`. */
export function certificatesIn (answer: unknown): Certificate[] {
  const list = Array.isArray(answer)
    ? answer
    : (answer as { devices?: unknown, certificates?: unknown } | null)?.devices ?? (answer as { certificates?: unknown } | null)?.certificates
  if (!Array.isArray(list)) throw new ApiCallError('create devices: the answer holds no list of certificates')
  return list.filter(isCertificate).map(c => ({ productKey: c.productKey, deviceName: c.deviceName, deviceSecret: c.deviceSecret }))
}

export interface CreateOptions {
  url: string
  token: string
  instance: string
  product?: string
  count: number
  /** Devices per request. */
  batch?: number
  onProgress?: (created: number) => void
}

/** Creates a product when none is given, then `count` devices under it, in batches. */
export async function createCertificates (o: CreateOptions): Promise<Certificate[]> {
  let productKey = o.product
  if (productKey === undefined) {
    const answer = await call(`${o.url}/api/v1/products`, o.token, { instanceId: o.instance, name: `loadtest ${new Date().toISOString()}` })
    const a = answer as { productKey?: unknown, product?: { productKey?: unknown } }
    const pk = a.productKey ?? a.product?.productKey
    if (typeof pk !== 'string') throw new ApiCallError('create product: the answer has no productKey')
    productKey = pk
  }
  const out: Certificate[] = []
  const batch = o.batch ?? 1000
  while (out.length < o.count) {
    const count = Math.min(batch, o.count - out.length)
    const answer = await call(`${o.url}/api/v1/products/${encodeURIComponent(productKey)}/devices`, o.token, { instanceId: o.instance, count })
    const certs = certificatesIn(answer)
    if (certs.length === 0) throw new ApiCallError('create devices: the answer holds no certificates')
    out.push(...certs)
    o.onProgress?.(out.length)
  }
  return out
}
