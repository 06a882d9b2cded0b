// A load-generator process: runs one flood at a time on request of the benchmark driver, so that
// generator and server never share a process.
import { credentials, type CredentialOptions } from '../../device/credentials.js'
import type { Certificate } from '../../shared/types.js'
import { ConnectFlood, type FloodOptions, type FloodResult } from './connect-flood.js'
import { httpFlood, type HttpFloodOptions, type HttpFloodResult } from './http-flood.js'

export type ToLoad =
  | { type: 'http', options: HttpFloodOptions }
  | { type: 'connect', options: Omit<FloodOptions, 'credentials'>, certificates: Certificate[], form?: CredentialOptions }
  | { type: 'close' }
  | { type: 'stop' }

export type FromLoad =
  | { type: 'ready' }
  | { type: 'http-result', result: HttpFloodResult }
  | { type: 'connect-result', result: FloodResult }
  | { type: 'closed', dropped: number }

let flood: ConnectFlood | null = null
const send = (m: FromLoad): void => { process.send?.(m) }

process.on('message', (m: ToLoad) => {
  void (async () => {
    if (m.type === 'http') {
      send({ type: 'http-result', result: await httpFlood(m.options) })
    } else if (m.type === 'connect') {
      const creds = m.certificates.map(c => credentials(c, m.form))
      flood = new ConnectFlood({ ...m.options, credentials: creds })
      send({ type: 'connect-result', result: await flood.run() })
    } else if (m.type === 'close') {
      const dropped = flood?.dropped ?? 0
      await flood?.close()
      flood = null
      send({ type: 'closed', dropped })
    } else if (m.type === 'stop') {
      await flood?.close()
      process.exit(0)
    }
  })()
})
process.on('disconnect', () => process.exit(0))
send({ type: 'ready' })
