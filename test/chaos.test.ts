// A small chaos run (docs/hardening.md; `npm run chaos` is the full one): real `homing bootstrap`
// and `homing broker` processes on a Redis of their own, a 1,000-device job with 100 devices online,
// the sidecar SIGKILLed mid-job and started again. No device lost, doubly assigned or left unconnected.
import t from 'tap'
import { runChaos } from '../bench/chaos/scenario.js'

t.test('a sidecar killed mid-job: no device lost, doubly assigned or never reconnected', async t => {
  const r = await runChaos({ devices: 1000, online: 100, sidecarKills: 1, brokerKill: false, redisRestart: false, timeoutMs: 120_000, log: line => t.comment(line) })
  t.equal(r.jobStatus, 'distributed', 'the job finished')
  t.match(r.events, [/^sidecar SIGKILL at \d+\/1000 /], 'the sidecar was killed once')
  const at = Number(/at (\d+)\//.exec(r.events[0] ?? '')?.[1])
  t.ok(at < 1000, `mid-job (${at} of 1000 devices recorded)`)
  t.same(r.counts, { lost: 0, doublyAssigned: 0, neverReconnected: 0 }, `examples: ${JSON.stringify(r.examples)}`)
})
