// /distribution/verification-codes (docs/distribution.md, "Rule 10"): the sender asks for a code for a destination
// account; the destination's owner lists the codes addressed to it. Codes never reach the sender.
import Router from '@koa/router'
import { z } from 'zod'
import { parseBody } from '../../http/body.js'
import { issueCode } from '../codes/issue.js'
import { nowOf } from '../../clock.js'
import type { ApiState, Sidecar } from '../../context.js'
import { badRequest, notFound } from '../../http/http-error.js'

const createBody = z.strictObject({
  /** The destination account, by id or by name. */
  targetAccount: z.string().trim().min(1).max(128)
})

export function verificationCodeRoutes (sidecar: Sidecar): Router<ApiState> {
  const router = new Router<ApiState>({ prefix: '/distribution' })

  router.post('/verification-codes', async ctx => {
    const body = await parseBody(ctx, createBody, { limit: sidecar.config.bootstrap.bodyLimit, accept: ['json'] })
    const target = sidecar.topology.account(body.targetAccount)
    if (target === undefined) throw notFound(`account "${body.targetAccount}"`)
    if (target.id === ctx.state.account.id) throw badRequest('targetAccount is your own account: distribute with method "this-account", no code needed', 'targetAccount')
    const code = await issueCode(sidecar, ctx.state.account, target)
    ctx.status = 202
    ctx.body = {
      targetAccount: target.id,
      expiresAt: code.expiresAt,
      message: `a verification code was sent to the owner of account "${target.id}"; ask them for it`
    }
  })

  // Only codes addressed to the caller, while valid.
  router.get('/verification-codes', async ctx => {
    const codes = await sidecar.store.codesFor(ctx.state.account.id, nowOf(sidecar))
    ctx.set('Cache-Control', 'no-store')
    ctx.body = {
      codes: codes.map(c => ({
        sourceAccount: { id: c.sourceAccountId, name: sidecar.topology.accounts.get(c.sourceAccountId)?.name ?? c.sourceAccountId },
        code: c.code,
        createdAt: c.createdAt,
        expiresAt: c.expiresAt
      }))
    }
  })

  return router
}

export { createBody as codeCreateBody }
