// Builds the operator console (console/src, Preact) into static files in dist/console: index.html,
// app.js, app.css. Everything is bundled here at build time; the page fetches nothing from the
// internet when it runs, and carries no inline script (the sidecar serves it with script-src 'self').
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'dist', 'console')
mkdirSync(out, { recursive: true })
await build({
  entryPoints: { app: join(here, 'src', 'main.tsx') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning'
})
copyFileSync(join(here, 'index.html'), join(out, 'index.html'))
copyFileSync(join(here, 'style.css'), join(out, 'app.css'))
