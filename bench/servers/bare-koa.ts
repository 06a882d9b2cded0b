// Baseline: a bare Koa app (no router, no body parser) answering the bootstrap success bytes.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import { ANSWER_BODY, ANSWER_TYPE } from './answer.js'
import { serve } from './serve.js'

serve('bare-koa', async () => {
  // Two listeners, as bare-http.ts: `httpClose` answers `Connection: close` as the sidecar does.
  const listener = async (close: boolean): Promise<Server> => {
    const app = new Koa()
    app.use(async ctx => {
      // Read the body as a real route would, then answer.
      for await (const chunk of ctx.req) void chunk
      ctx.type = ANSWER_TYPE
      if (close) ctx.set('Connection', 'close')
      ctx.body = ANSWER_BODY
    })
    const server = createServer(app.callback())
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
