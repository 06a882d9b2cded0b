// Loaded into every test process (package.json "tap"."node-arg"). Processes a test starts inherit
// tap's coverage recorder (through NODE_OPTIONS). The `homing` commands they start run the compiled
// code in dist/, whose source maps lead back to the TypeScript sources: their coverage is counted,
// under the .ts files. A child that runs TypeScript through tsx instead (a bench worker forked from
// a test, a script run with --import tsx) is left out: the report misreads tsx's source maps as
// fully covered. Tap reads this list in each process when it starts: it counts only the files named
// here in the children, and this process keeps its own coverage as tap set it up.
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dist = fileURLToPath(new URL('../../dist', import.meta.url))
let compiled = []
try {
  compiled = readdirSync(dist, { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith('.js'))
    .map(f => `${dist}/${f}`)
} catch {
  // No build: children count nothing (npm test builds first).
}
if (compiled.length === 0) process.env._TAPJS_PROCESSINFO_COVERAGE_ = '0'
else process.env._TAPJS_PROCESSINFO_COV_FILES_ = compiled.join('\n')
delete process.env.NODE_V8_COVERAGE
