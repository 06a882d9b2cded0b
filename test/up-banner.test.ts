// The `homing up` banner is read by the person at the terminal, and often pasted elsewhere: it shows
// account tokens only for the bundled demo config, and never a Redis password.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { withoutPassword } from '../bin/commands/up.js'
import { freePort } from './helpers/free-port.js'
import { SHANGHAI } from './helpers/regions.js'

const TOKEN = 'token-of-the-banner-test-account'

/** Starts `homing up`, and resolves with its stderr once the banner is complete (then stops it). */
async function bannerOf (file: string): Promise<string> {
  const child = spawn(process.execPath, ['bin/homing.js', 'up', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no complete banner within 60 s:\n${stderr}`)), 60_000)
      child.stderr.on('data', () => { if (stderr.includes('Stop with Ctrl-C')) { clearTimeout(timer); resolve() } })
      void exited.then(code => { clearTimeout(timer); reject(new Error(`homing up exited (${String(code)}) before its banner:\n${stderr}`)) })
    })
  } finally {
    child.kill('SIGTERM')
    await exited
  }
  return stderr
}

t.test('an operator\'s own config: the banner names the account but not its token', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'homing-banner-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'mine.json')
  const port = await freePort()
  writeFileSync(file, JSON.stringify({
    bootstrap: { host: '127.0.0.1', port: 0 },
    regions: [SHANGHAI],
    accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKEN }],
    instances: [{ id: 'iot-sh', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port }, listen: { host: '127.0.0.1', mqtt: port } }]
  }))
  const banner = await bannerOf(file)
  t.match(banner, 'Homing is up', 'the banner was printed')
  t.match(banner, /console\s+http:\/\/127\.0\.0\.1:\d+\/console\//, 'the console is named with its address')
  t.match(banner, /account\s+acme/, 'the account is named')
  t.notMatch(banner, TOKEN, 'its token is not printed')
})

t.test('a Redis URL is shown without its password', async t => {
  t.equal(withoutPassword('redis://:s3cret-pass@redis.example.com:6379/0'), 'redis://:***@redis.example.com:6379/0')
  t.equal(withoutPassword('rediss://homing:s3cret-pass@redis.example.com:6380'), 'rediss://homing:***@redis.example.com:6380')
  t.equal(withoutPassword('redis://127.0.0.1:6379/0'), 'redis://127.0.0.1:6379/0', 'a URL without a password is shown as it is')
})
