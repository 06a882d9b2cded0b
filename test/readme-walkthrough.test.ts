// README.md's walk-throughs ("Try it", nearest access, cross-account) run as written, in order, in
// one bash session, against `homing up` on the bundled demo config (docker/demo.json) with `homing`
// on the PATH. Ports: the demo's own are moved by the environment (BOOTSTRAP_PORT,
// HOMING_MQTT_PORT_<INSTANCE>) to free ones, and the blocks find the sidecar through HOMING_URL.
// Needs the build (`npm run build`), mosquitto_pub, curl and jq.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startDemo } from './helpers/demo.js'
import { runBlocks, shellBlocks } from './helpers/readme-blocks.js'

const ROOT = new URL('..', import.meta.url).pathname
const WALKTHROUGHS = [/^Try it$/, /^Nearest access/, /^Cross-account/]

const dir = mkdtempSync(join(tmpdir(), 'homing-readme-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
// What `npm link` does for a reader: `homing` on the PATH.
mkdirSync(join(dir, 'bin'))
symlinkSync(join(ROOT, 'bin/homing.js'), join(dir, 'bin/homing'))

t.test('the walk-through parser: sh blocks of the named sections, in order, with their not-run reasons', async t => {
  const md = ['# A', '```sh', 'echo no', '```', '## Try it', 'text', '<!-- not run in tests: it installs -->', '', '```sh', 'npm link', '```',
    '```sh', 'echo one', 'echo two', '```', '```', 'not sh', '```', '## Other', '```sh', 'echo other', '```'].join('\n')
  const blocks = shellBlocks(md, WALKTHROUGHS)
  t.same(blocks.map(b => [b.section, b.line, b.text, b.notRun]), [
    ['Try it', 9, 'npm link', 'it installs'],
    ['Try it', 12, 'echo one\necho two', null]
  ])
})

t.test('a block that fails stops the session and is named', async t => {
  const blocks = shellBlocks(['## Try it', '```sh', 'X=1', '```', '```sh', 'test "$X" = 1', 'false | cat', 'echo after', '```', '```sh', 'echo never', '```'].join('\n'), WALKTHROUGHS)
  const run = await runBlocks(blocks, { cwd: dir, env: process.env, ms: 20_000 })
  t.not(run.code, 0)
  t.equal(run.failed?.line, 5, 'the second block: pipefail catches a failing command before a pipe')
  t.notMatch(run.output, /after|never/)
})

t.test('every README walk-through command block runs as written against homing up on the demo config', async t => {
  const { url } = await startDemo(t)

  const blocks = shellBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), WALKTHROUGHS)
  const run = blocks.filter(b => b.notRun === null)
  t.ok(run.length >= 10, `the walk-throughs have their command blocks (${run.length})`)
  t.ok(blocks.length - run.length <= 2, 'few blocks are left out of the test')
  for (const section of WALKTHROUGHS) t.ok(run.some(b => section.test(b.section)), `a block of ${String(section)} runs`)

  const result = await runBlocks(run, {
    cwd: dir,
    env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, HOMING_URL: url, HOMING_TOKEN: '', LOG_LEVEL: 'warn' },
    ms: 150_000
  })
  t.ok(result.failed === null, result.failed === null
    ? 'every block ran'
    : `README.md:${result.failed.line} (${result.failed.section}) failed (exit ${String(result.code)}):\n${result.failed.text}\n--- output:\n${result.output.slice(-4000)}`)
})
