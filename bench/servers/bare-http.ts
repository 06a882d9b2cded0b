// Baseline: bare node:http answering the bootstrap success bytes (the request body is read).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ANSWER_BODY, ANSWER_TYPE } from './answer.js'
import { serve } from './serve.js'

serve('bare-http', async () => {
  const length = String(Buffer.byteLength(ANSWER_BODY))
  // Two listeners: `http` keeps connections open, `httpClose` answers `Connection: close` and
  // closes after the answer, exactly as the Homing sidecar does (the same bytes on the wire).
  const listener = async (close: boolean): Promise<Server> => {
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': ANSWER_TYPE, 'Content-Length': length, ...(close ? { Connection: 'close' } : {}) })
        res.end(ANSWER_BODY)
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    return server
  }
  const servers = [await listener(false), await listener(true)]
  const [open, closing] = servers.map(s => (s.address() as AddressInfo).port)
  return {
    ports: { http: open as number, httpClose: closing as number },
    close: async () => {
      await Promise.all(servers.map(s => new Promise<void>(resolve => { s.closeAllConnections(); s.close(() => resolve()) })))
    }
  }
})
