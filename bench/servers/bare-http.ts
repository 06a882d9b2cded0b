// Baseline: bare node:http answering the bootstrap success bytes (the request body is read).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ANSWER_BODY, ANSWER_TYPE } from './answer.js'
import { serve } from './serve.js'

serve('bare-http', async () => {
  const length = String(Buffer.byteLength(ANSWER_BODY))
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': ANSWER_TYPE, 'Content-Length': length })
      res.end(ANSWER_BODY)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    ports: { http: (server.address() as AddressInfo).port },
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  }
})
