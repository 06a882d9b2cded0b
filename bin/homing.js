#!/usr/bin/env node
// The `homing` bin runs the compiled code in dist/ (npm ci builds it; `npm run build` after editing
// the sources, or `npm run dev -- <command>` to run the sources through tsx without building).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/bin/homing.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('homing: dist/ is missing: run `npm run build` (npm ci runs it)\n')
  process.exit(1)
}
// Stack traces name the TypeScript sources (dist/ holds source maps).
process.setSourceMapsEnabled(true)
await import(entry.href)
