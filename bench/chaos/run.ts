// `npm run chaos`: the chaos run at full size (docs/hardening.md). CHAOS_DEVICES and CHAOS_ONLINE
// change its size. Prints the three counts and exits 1 unless all are 0 (and the job finished).
import { runChaos } from './scenario.js'

const devices = Number(process.env.CHAOS_DEVICES ?? 10_000)
const online = Number(process.env.CHAOS_ONLINE ?? 300)
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

try {
  const r = await runChaos({ devices, online, sidecarKills: 5, brokerKill: true, redisRestart: true, timeoutMs: 10 * 60_000, log })
  const { lost, doublyAssigned, neverReconnected } = r.counts
  process.stdout.write([
    `chaos run: ${devices} devices (${online} online), job ${r.jobStatus}, ${(r.wallMs / 1000).toFixed(1)} s`,
    ...r.events.map(e => `  ${e}`),
    `  lost:              ${lost}${lost > 0 ? ` (e.g. ${r.examples.lost.join(', ')})` : ''}`,
    `  doubly assigned:   ${doublyAssigned}${doublyAssigned > 0 ? ` (e.g. ${r.examples.doublyAssigned.join(', ')})` : ''}`,
    `  never reconnected: ${neverReconnected}${neverReconnected > 0 ? ` (e.g. ${r.examples.neverReconnected.join(', ')})` : ''}`
  ].join('\n') + '\n')
  const ok = lost === 0 && doublyAssigned === 0 && neverReconnected === 0 && r.jobStatus === 'distributed' && !r.events.some(e => e.startsWith('CRASH'))
  process.exit(ok ? 0 : 1)
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`)
  process.exit(1)
}
