// GET /console: the operator console, static files built from console/ into dist/console by
// `npm run build` (docs/operations.md, "Console and API description"). The files are read once, at the first request, and served
// from memory with a Content-Security-Policy that allows only the console's own script and style:
// no inline script, nothing from another origin. The console itself calls /api/v1 like any client.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Middleware } from 'koa'
import { notFound } from './http-error.js'

export const CONSOLE_PATH = '/console'

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8'
}

interface File { type: string, body: Buffer }

/**
 * dist/console: the nearest folder up from this file that holds it (the sources run from the
 * repository, the compiled sidecar from dist/). Built files only: console/ in the sources holds an
 * index.html too, but no app.js.
 */
function consoleDir (): string | null {
  for (let dir = fileURLToPath(new URL('.', import.meta.url)); ; dir = dirname(dir)) {
    const found = [join(dir, 'dist', 'console'), ...(basename(dir) === 'dist' ? [join(dir, 'console')] : [])].find(d => existsSync(join(d, 'app.js')))
    if (found !== undefined) return found
    if (dirname(dir) === dir) return null
  }
}

function loadFiles (): Map<string, File> {
  const files = new Map<string, File>()
  const dir = consoleDir()
  if (dir === null) return files
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)]
    if (type !== undefined) files.set(name, { type, body: readFileSync(join(dir, name)) })
  }
  return files
}

export function serveConsole (): Middleware {
  let files: Map<string, File> | null = null
  return async (ctx, next) => {
    if (ctx.path !== CONSOLE_PATH && !ctx.path.startsWith(`${CONSOLE_PATH}/`)) return next()
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next()
    if (ctx.path === CONSOLE_PATH) return ctx.redirect(`${CONSOLE_PATH}/`)
    files ??= loadFiles()
    const name = ctx.path.slice(CONSOLE_PATH.length + 1) || 'index.html'
    const file = files.get(name)
    if (file === undefined) {
      throw notFound(files.size === 0 ? 'the console is not built (npm run build makes dist/console)' : `console file "${name}"`)
    }
    ctx.set('Content-Security-Policy', CONSOLE_CSP)
    ctx.set('X-Content-Type-Options', 'nosniff')
    ctx.set('Referrer-Policy', 'no-referrer')
    ctx.set('Cache-Control', 'no-cache')
    ctx.type = file.type
    ctx.body = file.body
  }
}
