// Floor of the bootstrap: the least a sidecar that looks devices up in a shared Redis registry can
// do per request. Bare node:http with the sidecar's closing behaviour (`Connection: close`, closed
// after the answer), that reads the form body, takes productKey and deviceName from it, reads the
// device's record with one ioredis GET (auto-pipelined) and answers the fixed bytes of the
// baselines. No validation, placement, logs, metrics or timeline; a body over BODY_LIMIT bytes (far
// above any bootstrap form) is answered 413 and not kept.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { loadConfig } from '../../shared/config.js'
import { deviceKey } from '../../shared/store/device-keys.js'
import { ANSWER_BODY, ANSWER_TYPE } from './answer.js'
import { arg, serve } from './serve.js'

const BODY_LIMIT = 4096

serve('floor-http', async () => {
  const config = loadConfig(arg('config'))
  if (typeof config.redis !== 'string') throw new Error('floor-http: needs a redis:// URL')
  const redis = new Redis(config.redis, { enableAutoPipelining: true })
  const length = String(Buffer.byteLength(ANSWER_BODY))
  const server = createServer((req, res) => {
    const answer = (status: number): void => {
      res.writeHead(status, { 'Content-Type': ANSWER_TYPE, 'Content-Length': length, Connection: 'close' })
      res.end(ANSWER_BODY)
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= BODY_LIMIT) chunks.push(c)
    })
    req.on('end', () => {
      if (size > BODY_LIMIT) return answer(413)
      const form = new URLSearchParams(Buffer.concat(chunks).toString('latin1'))
      redis.get(deviceKey(config.keyPrefix, form.get('productKey') ?? '', form.get('deviceName') ?? '')).then(
        raw => answer(raw === null ? 404 : 200),
        () => answer(503))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    ports: { httpClose: (server.address() as AddressInfo).port },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      redis.disconnect()
    }
  }
})
