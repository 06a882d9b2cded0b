// Jobs: the list, and one job with live progress (moved, notified, reconnected), its pace and
// settling, its per-device records with filters, the CSV download, and retry.
import { useCallback, useState } from 'preact/hooks'
import { api, apiText, download, q } from './api'
import { parseCsv } from './csv'
import { href, useInterval, useLoad, when } from './hooks'
import type { Job, JobRecord } from './types'
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
            <thead><tr><th scope='col'>Job</th><th scope='col'>Status</th><th scope='col'>Kind</th><th scope='col'>From → to</th><th scope='col'>Product</th><th scope='col'>Succeeded / failed / total</th><th scope='col'>Settling</th><th scope='col'>Created</th></tr></thead>
            <tbody>
              {list.map(j => (
                <tr key={j.id}>
                  <td><a href={href('jobs', j.id)}>{j.id}</a></td><td><Badge status={j.status} /></td>
                  <td>{j.method} / {j.policy}</td><td>{j.sourceInstanceId} → {destination(j)}</td><td>{j.productKey}</td>
                  <td class='count'>{j.counts.succeeded} / {j.counts.failed} / {j.counts.total}</td>
                  <td data-settling={settles(j) ? j.settling.state : undefined}>{settles(j) ? <><Badge status={j.settling.state} /> <span class='count'>{back(j)}</span></> : '—'}</td>
                  <td>{when(j.createdAt)}</td>
                </tr>
              ))}
              {list.length === 0 && <tr><td colSpan={8}>No jobs yet.</td></tr>}
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

/** A failed job does not settle: it stopped moving (its records say which devices moved). */
const settles = (j: Job): boolean => j.status !== 'failed'
/** The devices that were online when moved, and how many of them are back (the API's settling figures). */
const back = (j: Job): string => `${j.settling.reconnected} of ${j.settling.reconnected + j.settling.away} back`

/** docs/distribution.md, "Rate, waves and settling": how fast the job moves its devices. */
function pace (j: Job): string {
  const { rate, waveSize, wavePauseSeconds } = j.pace
  const parts = [rate === null ? 'as fast as it can' : `at most ${rate} per second`]
  if (waveSize !== null) parts.push(`in waves of ${waveSize}, ${wavePauseSeconds} s apart`)
  return parts.join(', ')
}

interface Progress { job: Job, records: JobRecord[] }

/** The job (with its settling figures, computed by the API) and its per-device records. */
async function progress (id: string): Promise<Progress> {
  const job = await api<Job>('GET', `/distribution/jobs/${encodeURIComponent(id)}`)
  const rows = parseCsv(await apiText(`/distribution/jobs/${encodeURIComponent(id)}/records`)).slice(1)
  const records = rows.map(([productKey = '', deviceName = '', code = '', message = '']) => ({ productKey, deviceName, code, message }))
  return { job, records }
}

/** Still worth polling: the job runs, a record is not final yet, or a moved online device has not come back (until the settle timeout). */
function stillMoving ({ job, records }: Progress): boolean {
  if (job.status === 'initializing' || job.status === 'distributing') return true
  // A moved device's record without "; offline" or "; online ..." waits for the old broker to tell the device.
  return records.some(r => r.code === 'pending' || (r.code === 'success' && !r.message.includes(';'))) || (settles(job) && job.settling.state === 'settling')
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
      <Status loaded={loaded}>{({ job, records }) => {
        const moved = records.filter(r => r.code === 'success').length
        const { notified, reconnected, stragglers } = job.settling
        const failed = records.filter(r => r.code !== 'success' && r.code !== 'pending').length
        const shown = records.filter(r => (code === '' || r.code === code) && (name === '' || r.deviceName.includes(name)))
        return (
          <>
            <dl class='facts'>
              <dt>Status</dt><dd><Badge status={job.status} /> <span class='muted'>{watch && running ? '(watching)' : ''}</span></dd>
              <dt>Kind</dt><dd>{job.method} / {job.policy}</dd>
              <dt>From → to</dt><dd>{job.sourceInstanceId} → {destination(job)}</dd>
              <dt>Product</dt><dd>{job.productKey}</dd>
              <dt>Pace</dt><dd>{pace(job)}</dd>
              <dt>Settling</dt>
              <dd>{settles(job)
                ? <><Badge status={job.settling.state} /> {back(job)}, {job.settling.away} away <span class='muted'>(timeout {job.settling.timeoutSeconds} s)</span></>
                : '—'}
              </dd>
              <dt>Created</dt><dd>{when(job.createdAt)}</dd>
              {job.error !== null && <><dt>Error</dt><dd class='error'>{job.error}</dd></>}
            </dl>
            <div class='bars' aria-live='polite'>
              <Bar label='moved' value={moved} total={job.counts.total} />
              <Bar label='notified' value={notified} total={job.counts.total} />
              <Bar label='reconnected' value={reconnected} total={job.counts.total} />
              <Bar label='failed' value={failed} total={job.counts.total} />
            </div>
            {settles(job) && stragglers !== null && stragglers.length > 0 && (
              <section aria-labelledby='stragglers-title'>
                <h2 id='stragglers-title'>Stragglers: {job.settling.away} not back after {job.settling.timeoutSeconds} s{job.settling.away > stragglers.length ? ` (the first ${stragglers.length}; the records CSV has them all)` : ''}</h2>
                <ul class='stragglers' aria-label='Stragglers'>
                  {stragglers.map(n => <li key={n}><a href={href('device', job.productKey, n)}>{n}</a></li>)}
                </ul>
              </section>
            )}
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
