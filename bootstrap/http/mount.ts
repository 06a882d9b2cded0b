// Each face of the sidecar (devices, the management API, the ops paths) is a Koa app with its own
// middleware stack; the sidecar's app (bootstrap/app.ts) hands each request to the one face its
// path belongs to, so that no middleware needs to ask which face it serves.
import type Koa from 'koa'
import type { Middleware } from 'koa'

/**
 * Koa 3 composes an app's middleware with `app.compose` (koa-compose unless the app was built with
 * another); @types/koa does not declare it.
 */
interface Composing {
  compose: (middleware: Koa.Middleware[]) => (ctx: Koa.Context) => Promise<void>
}

/** Runs `face`'s whole stack, in the same context, for the requests whose path `owns`; the rest go on. */
// `any`: each face declares its own state and context; the stack runs in the sidecar app's context.
export function mount (owns: (path: string) => boolean, face: Koa<any, any>): Middleware {
  const stack = (face as unknown as Composing).compose(face.middleware as Koa.Middleware[])
  return async (ctx, next) => {
    if (owns(ctx.path)) await stack(ctx)
    else await next()
  }
}
