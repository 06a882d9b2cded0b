// `homing loadtest`: devices from a CSV or the API -> workers -> ramp -> hold -> summary.
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { Certificate } from '../../shared/types.js'
import { ApiCallError, CertificateFileError, createCertificates, readCertificates, writeCertificates } from '../../bench/loadtest/certificates.js'
import { checkOptions, loadtestCommand, workerCount, type LoadtestOptions } from '../../bench/loadtest/options.js'
import { Progress, type Output } from '../../bench/loadtest/progress.js'
import type { Summary } from '../../bench/loadtest/stats.js'

async function certificatesFor (o: LoadtestOptions): Promise<Certificate[]> {
  if (o.certificates !== undefined) {
    const all = await readCertificates(o.certificates)
    if (all.length < o.devices) process.stderr.write(`loadtest: ${o.certificates} holds ${all.length} certificates; simulating ${all.length} devices\n`)
    return all.slice(0, o.devices)
  }
  process.stderr.write(`loadtest: creating ${o.devices} devices in ${o.instance}...\n`)
  const certs = await createCertificates({ url: o.url, token: o.token as string, instance: o.instance as string, ...(o.product !== undefined ? { product: o.product } : {}), count: o.devices })
  if (o.saveCertificates !== undefined) await writeCertificates(o.saveCertificates, certs)
  return certs
}

/** Runs the load test; progress and the closing table go to `out` (stdout by default). */
export async function runLoadtestCommand (o: LoadtestOptions, out: Output = process.stdout): Promise<Summary> {
  // Loaded when the command runs (workers, histograms, mqtt.js): `homing --help` does not pay for them.
  const [{ startLoadtest }, { summaryTable }] = await Promise.all([import('../../bench/loadtest/run.js'), import('../../bench/loadtest/stats.js')])
  const certificates = await certificatesFor(o)
  const devices = certificates.length
  const lt = await startLoadtest(certificates, {
    url: o.url,
    workers: workerCount(devices, o.workers),
    sources: o.sources,
    ramp: o.ramp,
    inFlight: o.inFlight,
    publishRate: o.publishRate,
    keepalive: o.keepalive,
    form: o.form,
    ...(o.deviceMode !== undefined ? { deviceMode: o.deviceMode } : {}),
    ...(o.signMethod !== undefined ? { signMethod: o.signMethod } : {}),
    connectTimeout: o.connectTimeout,
    backoffBase: o.backoffBase,
    backoffCap: o.backoffCap,
    ...(o.ca !== undefined ? { ca: readFileSync(o.ca, 'utf8') } : {}),
    mqttTls: o.mqttTls
  })
  const progress = new Progress(out, devices, lt.startedAt, o.progress)
  lt.on('progress', total => progress.update(total))
  lt.on('worker-exit', (i, code) => process.stderr.write(`\nloadtest: worker ${i} exited with ${code}\n`))
  let interrupted: () => void = () => {}
  const stop = new Promise<void>(resolve => { interrupted = resolve })
  const onSignal = (): void => interrupted()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // The ramp: until every device has started; then hold for --duration.
  const ramped = (async () => {
    while (!(await lt.until(t => t.started >= devices, 1000)));
    await new Promise(resolve => setTimeout(resolve, o.duration * 1000).unref())
  })()
  await Promise.race([ramped, stop])
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  const summary = await lt.finish()
  progress.done()
  out.write(summaryTable(summary) + '\n')
  if (o.json !== undefined) await writeFile(o.json, JSON.stringify(summary, null, 2) + '\n')
  return summary
}

export function registerLoadtest (program: Command): void {
  program.addCommand(loadtestCommand().action(async (o: LoadtestOptions) => {
    const problem = checkOptions(o)
    if (problem !== null) {
      process.stderr.write(`homing loadtest: ${problem}\n`)
      process.exit(2)
    }
    try {
      await runLoadtestCommand(o)
    } catch (err) {
      if (err instanceof CertificateFileError || err instanceof ApiCallError) {
        process.stderr.write(`homing loadtest: ${err.message}\n`)
        process.exit(1)
      }
      throw err
    }
  }))
}
