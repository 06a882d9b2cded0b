// Baseline: a bare Koa app (no router, no body parser) answering the bootstrap success bytes.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import { ANSWER_BODY, ANSWER_TYPE } from './answer.js'
import { serve } from './serve.js'

serve('bare-koa', async () => {
  const app = new Koa()
  app.use(async ctx => {
    // Read the body as a real route would, then answer.
    for await (const chunk of ctx.req) void chunk
    ctx.type = ANSWER_TYPE
    ctx.body = ANSWER_BODY
  })
  const server = createServer(app.callback())
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    ports: { http: (server.address() as AddressInfo).port },
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  }
})
