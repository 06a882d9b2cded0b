// Operator commands for distribution jobs; each calls the REST API (docs/architecture.md, "Processes"):
//   homing distribute --source ID --target ID --product PK [--devices a,b | --csv FILE] [--wait]
//   homing distribute --source ID --nearest REGION=ID,... --product PK --devices a,b     (nearest access)
//   homing distribute --source ID --target ID --to-account ACCOUNT --code 123456 ...   (cross-account)
//   homing job show ID | homing job records ID | homing job list | homing job retry ID
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { action, callApi, OperatorError, withApiOptions, type ApiTarget } from './api-client.js'
import { getJob, JOB_COLUMNS, printJob, waitForJob, type JobView } from './job-wait.js'
import { pageFooter, printAnswer, withOutput, type OutputOptions } from './output.js'

interface DistributeOptions extends ApiTarget, OutputOptions {
  source: string
  target?: string
  nearest?: { region: string, instanceId: string }[]
  toAccount?: string
  code?: string
  product: string
  devices?: string[]
  csv?: string
  wait?: boolean
  timeout?: number
  rate?: number
  waveSize?: number
  wavePause?: number
  settleTimeout?: number
}

interface ListOptions extends ApiTarget, OutputOptions {
  status?: string
  product?: string
  page?: number
  pageSize?: number
  offset?: number
  limit?: number
}

const print = (value: unknown): void => { process.stdout.write(`${JSON.stringify(value, null, 2)}\n`) }

const deviceList = (value: string): string[] => value.split(',').map(s => s.trim()).filter(s => s !== '')

/** `eu-central-1=iot-de-1,us-west-1=iot-us-1`: one instance per chosen region (docs/distribution.md, "Rule 7"). */
function nearestTargets (value: string): { region: string, instanceId: string }[] {
  return deviceList(value).map(pair => {
    const [region = '', instanceId = '', ...rest] = pair.split('=').map(s => s.trim())
    if (region === '' || instanceId === '' || rest.length > 0) throw new InvalidArgumentError(`"${pair}" is not REGION=INSTANCE`)
    return { region, instanceId }
  })
}

function positive (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('a positive whole number')
  return n
}

function whole (value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a whole number, 0 or more')
  return Number(value)
}

export function registerDistribution (program: Command): void {
  withOutput(withApiOptions(program.command('distribute')))
    .description('start a distribution job: to one instance (--target; without devices the product alone is copied), ' +
      'to the nearest of several regions (--nearest), or to another account (--to-account with its owner\'s --code)')
    .requiredOption('--source <instanceId>', 'instance the devices leave')
    .addOption(new Option('--target <instanceId>', 'instance they go to (region policy)').conflicts('nearest'))
    .addOption(new Option('--nearest <region=instance,...>', 'nearest access: one instance per chosen region; each device is placed at its first bootstrap').argParser(nearestTargets))
    .addOption(new Option('--to-account <account>', 'cross-account: the destination account (id or name); needs --target and --code').conflicts('nearest'))
    .option('--code <digits>', 'cross-account: the verification code the destination account\'s owner received (homing code send)')
    .requiredOption('--product <productKey>', 'their product')
    .addOption(new Option('--devices <names>', 'comma-separated DeviceNames').argParser(deviceList).conflicts('csv'))
    .addOption(new Option('--csv <file>', 'CSV device list (template: productKey,deviceName; at most 1,000 rows)'))
    .option('--rate <perSecond>', 'at most this many devices notified per second, across the source instance\'s nodes (default: as fast as it can)', positive)
    .option('--wave-size <devices>', 'move the devices in waves of this many', positive)
    .option('--wave-pause <seconds>', 'with --wave-size: pause this long between waves', whole)
    .option('--settle-timeout <seconds>', 'how long the job waits for its online devices to reconnect at their destination before it lists the stragglers (default 300)', whole)
    .option('--wait', 'wait until the job is distributed or failed (a progress bar on a terminal), then print it; ' +
      'exit code 3 when the job failed or any device did, 4 on --timeout')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long (the job goes on)', positive)
    .addHelpText('after', '\nExit codes: 0 done (every device succeeded, with --wait), 1 refused or unreachable, 3 the job or a device failed, 4 --timeout passed.')
    .action(action(async (opts: DistributeOptions) => {
      const started = JSON.parse((await callApi(opts, 'POST', '/distribution/jobs', await jobBody(opts))).text) as { jobId: string, status: string }
      if (opts.wait !== true) {
        if (opts.output === 'json') return print(started)
        return printAnswer(opts.output, started, s => [s], [{ header: 'jobId', value: s => s.jobId }, { header: 'status', value: s => s.status }])
      }
      const job = await waitForJob(opts, started.jobId, opts.timeout === undefined ? null : opts.timeout * 1000)
      printJob(opts.output, job)
      if (job.status === 'failed' || job.counts.failed > 0) {
        process.stderr.write(`homing: job ${job.id} ${job.status === 'failed' ? `failed${job.error === null ? '' : `: ${job.error}`}` : `ended with ${job.counts.failed} of ${job.counts.total} devices failed`}; ` +
          `\`homing job records ${job.id}\` says why, \`homing job retry ${job.id}\` runs them again\n`)
        process.exitCode = 3
      }
    }))

  const job = program.command('job').description('distribution jobs: show, records, list, retry')
  withOutput(withApiOptions(job.command('show <id>')))
    .description('a job\'s status and counts (total, succeeded, failed, pending)')
    .action(action(async (id: string, opts: ApiTarget & OutputOptions) => { printJob(opts.output, await getJob(opts, id)) }))
  withApiOptions(job.command('records <id>'))
    .description('per-device results: productKey, deviceName, code, message')
    // The API answers CSV: that is what a pipe gets unless --output says otherwise.
    .addOption(new Option('--output <format>', 'how to print them')
      .choices(['table', 'json', 'csv']).default(process.stdout.isTTY === true ? 'table' : 'csv', 'table on a terminal, csv otherwise'))
    .action(action(async (id: string, opts: ApiTarget & OutputOptions) => {
      const csv = (await callApi(opts, 'GET', `/distribution/jobs/${encodeURIComponent(id)}/records`)).text
      if (opts.output === 'csv') {
        process.stdout.write(csv)
        return
      }
      const { parse } = await import('csv-parse/sync')
      const records = parse(csv, { columns: true, skip_empty_lines: true }) as Record<string, string>[]
      const columns = ['productKey', 'deviceName', 'code', 'message'].map(header => ({ header, value: (r: Record<string, string>) => r[header] }))
      printAnswer(opts.output, { records }, a => a.records, columns)
    }))
  withOutput(withApiOptions(job.command('list')))
    .description('the batch list, newest first')
    .option('--status <status>', 'initializing, distributing, distributed or failed')
    .option('--product <productKey>', 'only jobs of this product')
    .option('--page <n>', 'page, from 1', positive)
    .option('--page-size <n>', 'jobs per page', positive)
    .option('--offset <n>', 'skip this many jobs', whole)
    .option('--limit <n>', 'jobs per page (default 20)', positive)
    .action(action(async (opts: ListOptions) => {
      const query = new URLSearchParams()
      if (opts.status !== undefined) query.set('status', opts.status)
      if (opts.product !== undefined) query.set('productKey', opts.product)
      if (opts.page !== undefined) query.set('page', String(opts.page))
      if (opts.pageSize !== undefined) query.set('pageSize', String(opts.pageSize))
      if (opts.offset !== undefined) query.set('offset', String(opts.offset))
      if (opts.limit !== undefined) query.set('limit', String(opts.limit))
      const q = query.toString()
      const answer = JSON.parse((await callApi(opts, 'GET', `/distribution/jobs${q === '' ? '' : `?${q}`}`)).text) as { jobs: JobView[], total: number, offset: number, limit: number }
      printAnswer(opts.output, answer, a => a.jobs, JOB_COLUMNS, a => pageFooter(a, a.jobs.length))
    }))
  withApiOptions(job.command('retry <id>'))
    .description('run a failed or stuck job again, or the failed devices of a distributed one')
    .action(action(async (id: string, opts: ApiTarget) => {
      print(JSON.parse((await callApi(opts, 'POST', `/distribution/jobs/${encodeURIComponent(id)}/retry`)).text))
    }))
}

/** JSON with a device list, or the form with the CSV file (the API checks the file, line by line). */
async function jobBody (opts: DistributeOptions): Promise<unknown> {
  if (opts.target === undefined && opts.nearest === undefined) throw new OperatorError('give --target INSTANCE, or --nearest REGION=INSTANCE,...')
  const job: Record<string, string> = {
    method: opts.toAccount === undefined ? 'this-account' : 'cross-account',
    policy: opts.nearest === undefined ? 'region' : 'nearest',
    sourceInstanceId: opts.source,
    productKey: opts.product,
    ...(opts.target === undefined ? {} : { targetInstanceId: opts.target }),
    ...(opts.nearest === undefined ? {} : { targets: JSON.stringify(opts.nearest) }),
    ...(opts.toAccount === undefined ? {} : { targetAccount: opts.toAccount }),
    ...(opts.code === undefined ? {} : { verificationCode: opts.code })
  }
  // docs/distribution.md, "Rate, waves and settling".
  const pace: Record<string, number> = {
    ...(opts.rate === undefined ? {} : { rate: opts.rate }),
    ...(opts.waveSize === undefined ? {} : { waveSize: opts.waveSize }),
    ...(opts.wavePause === undefined ? {} : { wavePauseSeconds: opts.wavePause }),
    ...(opts.settleTimeout === undefined ? {} : { settleTimeoutSeconds: opts.settleTimeout })
  }
  if (opts.csv === undefined) {
    const body = { ...job, ...pace, ...(opts.nearest === undefined ? {} : { targets: opts.nearest }) }
    return opts.devices === undefined ? body : { ...body, deviceNames: opts.devices }
  }
  let csv: string
  try {
    csv = await readFile(opts.csv, 'utf8')
  } catch (err) {
    throw new OperatorError(`cannot read ${opts.csv}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const form = new FormData()
  for (const [k, v] of Object.entries({ ...job, ...pace })) form.set(k, String(v))
  form.set('file', new Blob([csv], { type: 'text/csv' }), basename(opts.csv))
  return form
}
