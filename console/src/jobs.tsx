// Jobs: the list, and one job with live progress (moved, notified, reconnected), its per-device
// records with filters, the CSV download, and retry.
import { useCallback, useState } from 'preact/hooks'
import { api, apiText, download, q } from './api'
import { parseCsv } from './csv'
import { href, useInterval, useLoad, when } from './hooks'
import type { Device, Job, JobRecord } from './types'
import { Badge, Bar, ErrorText, Page, Status } from './ui'

const PAGE = 20

export function Jobs () {
  const [page, setPage] = useState(0)
  const jobs = useLoad(() => api<{ jobs: Job[], total: number }>('GET', `/distribution/jobs${q({ offset: page * PAGE, limit: PAGE })}`), [page])
  return (
    <Page title='Distribution jobs' actions={<a class='button' href={href('distribute')}>New job</a>}>
      <Status loaded={jobs}>{({ jobs: list, total }) => (
        <>
          <table class='grid' aria-label='Jobs'>
            <thead><tr><th scope='col'>Job</th><th scope='col'>Status</th><th scope='col'>Kind</th><th scope='col'>From → to</th><th scope='col'>Product</th><th scope='col'>Succeeded / failed / total</th><th scope='col'>Created</th></tr></thead>
            <tbody>
              {list.map(j => (
                <tr key={j.id}>
                  <td><a href={href('jobs', j.id)}>{j.id}</a></td><td><Badge status={j.status} /></td>
                  <td>{j.method} / {j.policy}</td><td>{j.sourceInstanceId} → {destination(j)}</td><td>{j.productKey}</td>
                  <td class='count'>{j.counts.succeeded} / {j.counts.failed} / {j.counts.total}</td><td>{when(j.createdAt)}</td>
                </tr>
              ))}
              {list.length === 0 && <tr><td colSpan={7}>No jobs yet.</td></tr>}
            </tbody>
          </table>
          <nav class='pager' aria-label='Pages'>
            <button type='button' disabled={page === 0} onClick={() => setPage(page - 1)}>Previous</button>
            <span>Page {page + 1} of {Math.max(1, Math.ceil(total / PAGE))}</span>
            <button type='button' disabled={(page + 1) * PAGE >= total} onClick={() => setPage(page + 1)}>Next</button>
          </nav>
        </>
      )}
      </Status>
    </Page>
  )
}

const destination = (j: Job): string => j.targetInstanceId === null ? `nearest of ${j.targets.map(t => t.instanceId).join(', ')}` : `${j.targetInstanceId}${j.targetAccount === null ? '' : ` (account ${j.targetAccount})`}`

interface Progress { job: Job, records: JobRecord[], reconnected: number }

/** Reconnected: a moved device that is online again where it went (looked up for jobs of up to 200 devices). */
async function progress (id: string): Promise<Progress> {
  const job = await api<Job>('GET', `/distribution/jobs/${encodeURIComponent(id)}`)
  const rows = parseCsv(await apiText(`/distribution/jobs/${encodeURIComponent(id)}/records`)).slice(1)
  const records = rows.map(([productKey = '', deviceName = '', code = '', message = '']) => ({ productKey, deviceName, code, message }))
  let reconnected = 0
  const moved = records.filter(r => r.code === 'success')
  if (moved.length <= 200 && job.targetAccount === null) {
    const devices = await Promise.all(moved.map(r => api<Device>('GET', `/products/${encodeURIComponent(r.productKey)}/devices/${encodeURIComponent(r.deviceName)}`).catch(() => null)))
    reconnected = devices.filter(d => d !== null && d.online && d.instanceId !== job.sourceInstanceId).length
  }
  return { job, records, reconnected }
}

/** Still worth polling: the job runs, a record is not final yet, or a moved online device has not come back yet. */
function stillMoving ({ job, records, reconnected }: Progress): boolean {
  if (job.status === 'initializing' || job.status === 'distributing') return true
  const wasOnline = records.filter(r => r.code === 'success' && /; online/.test(r.message)).length
  // A moved device's record without "; offline" or "; online ..." waits for the old broker to tell the device.
  return records.some(r => r.code === 'pending' || (r.code === 'success' && !r.message.includes(';'))) || reconnected < wasOnline
}

export function JobPage ({ id }: { id: string }) {
  const loaded = useLoad(() => progress(id), [id])
  const running = loaded.data === null || stillMoving(loaded.data)
  const [watch, setWatch] = useState(true)
  const tick = useCallback(() => loaded.reload(), [loaded.reload])
  useInterval(tick, running && watch && !loaded.loading ? 1000 : null)
  const [code, setCode] = useState('')
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  const retry = async (): Promise<void> => { try { await api('POST', `/distribution/jobs/${encodeURIComponent(id)}/retry`); setError(null); loaded.reload() } catch (err) { setError((err as Error).message) } }
  const csv = async (): Promise<void> => { try { await download(`/distribution/jobs/${encodeURIComponent(id)}/records`, `${id}-records.csv`) } catch (err) { setError((err as Error).message) } }
  return (
    <Page title={`Job ${id}`}>
      <p><a href={href('jobs')}>← all jobs</a></p>
      <ErrorText error={error} />
      <Status loaded={loaded}>{({ job, records, reconnected }) => {
        const moved = records.filter(r => r.code === 'success').length
        const notified = records.filter(r => /; notified/.test(r.message)).length
        const failed = records.filter(r => r.code !== 'success' && r.code !== 'pending').length
        const shown = records.filter(r => (code === '' || r.code === code) && (name === '' || r.deviceName.includes(name)))
        return (
          <>
            <dl class='facts'>
              <dt>Status</dt><dd><Badge status={job.status} /> <span class='muted'>{watch && running ? '(watching)' : ''}</span></dd>
              <dt>Kind</dt><dd>{job.method} / {job.policy}</dd>
              <dt>From → to</dt><dd>{job.sourceInstanceId} → {destination(job)}</dd>
              <dt>Product</dt><dd>{job.productKey}</dd>
              <dt>Created</dt><dd>{when(job.createdAt)}</dd>
              {job.error !== null && <><dt>Error</dt><dd class='error'>{job.error}</dd></>}
            </dl>
            <div class='bars' aria-live='polite'>
              <Bar label='moved' value={moved} total={job.counts.total} />
              <Bar label='notified' value={notified} total={job.counts.total} />
              <Bar label='reconnected' value={reconnected} total={job.counts.total} />
              <Bar label='failed' value={failed} total={job.counts.total} />
            </div>
            <div class='actions'>
              <button type='button' onClick={csv}>Download records (CSV)</button>
              <button type='button' onClick={retry} disabled={job.status === 'initializing' || job.status === 'distributing'}>Retry</button>
              <button type='button' onClick={() => setWatch(!watch)}>{watch ? 'Stop watching' : 'Watch'}</button>
            </div>
            <h2>Records</h2>
            <form class='filters' role='search' onSubmit={e => e.preventDefault()}>
              <label>Device <input type='search' value={name} onInput={e => setName((e.currentTarget as HTMLInputElement).value)} /></label>
              <label>Code <select value={code} onChange={e => setCode((e.currentTarget as HTMLSelectElement).value)}><option value=''>all</option>{[...new Set(records.map(r => r.code))].map(c => <option key={c}>{c}</option>)}</select></label>
            </form>
            <table class='grid' aria-label='Records'>
              <thead><tr><th scope='col'>Device</th><th scope='col'>Code</th><th scope='col'>Message</th></tr></thead>
              <tbody>
                {shown.map(r => <tr key={r.deviceName}><td><a href={href('device', r.productKey, r.deviceName)}>{r.deviceName}</a></td><td><Badge status={r.code} /></td><td>{r.message}</td></tr>)}
                {shown.length === 0 && <tr><td colSpan={3}>No records{records.length > 0 ? ' match' : ' yet'}.</td></tr>}
              </tbody>
            </table>
          </>
        )
      }}
      </Status>
    </Page>
  )
}
