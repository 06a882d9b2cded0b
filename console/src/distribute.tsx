// A distribution job: the three kinds (region, nearest access, cross-account with the verification
// code), devices as a list or a CSV upload, a preview (the API's dryRun) before starting.
import { useRef, useState } from 'preact/hooks'
import { api, ApiFailure } from './api'
import { loadInstances, loadProducts } from './fleet'
import { go, useLoad } from './hooks'
import type { Instance, Preview, Product, Region } from './types'
import { ErrorText, Page, Status } from './ui'

type Kind = 'region' | 'nearest' | 'cross-account'

/** docs/distribution.md, "Rate, waves and settling": the job's optional pace, sent with the preview too. */
const PACE = ['rate', 'waveSize', 'wavePauseSeconds', 'settleTimeoutSeconds'] as const

export function Distribute () {
  const topology = useLoad(async () => ({ ...await loadInstances(), products: await loadProducts() }), [])
  return (
    <Page title='New distribution job'>
      <Status loaded={topology}>{t => <JobForm instances={t.instances} regions={t.regions} products={t.products.filter(p => !p.readOnly)} />}</Status>
    </Page>
  )
}

function JobForm ({ instances, regions, products }: { instances: Instance[], regions: Region[], products: Product[] }) {
  const [kind, setKind] = useState<Kind>('region')
  const [source, setSource] = useState(instances[0]?.id ?? '')
  const [preview, setPreview] = useState<Preview | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const form = useRef<HTMLFormElement>(null)

  /** The job as the API takes it: JSON, or multipart with the CSV file when one is chosen. */
  const body = (): FormData | Record<string, unknown> => {
    const f = new FormData(form.current ?? undefined)
    const str = (name: string): string | undefined => { const v = String(f.get(name) ?? '').trim(); return v === '' ? undefined : v }
    // An empty field is left out; anything else goes as a number, and the API says what it refuses.
    const num = (name: string): number | undefined => { const v = str(name); return v === undefined ? undefined : Number(v) }
    const job: Record<string, unknown> = {
      method: kind === 'cross-account' ? 'cross-account' : 'this-account',
      policy: kind === 'nearest' ? 'nearest' : 'region',
      sourceInstanceId: str('sourceInstanceId'),
      productKey: str('productKey')
    }
    if (kind === 'region') job.targetInstanceId = str('targetInstanceId')
    if (kind === 'nearest') job.targets = regions.flatMap(r => { const id = str(`target-${r.id}`); return id === undefined ? [] : [{ region: r.id, instanceId: id }] })
    if (kind === 'cross-account') Object.assign(job, { targetAccount: str('targetAccount'), targetInstanceId: str('crossInstanceId'), verificationCode: str('verificationCode') })
    for (const name of PACE) job[name] = num(name)
    const file = f.get('file')
    if (file instanceof File && file.size > 0) {
      const upload = new FormData()
      for (const [k, v] of Object.entries(job)) if (v !== undefined) upload.set(k, typeof v === 'string' ? v : JSON.stringify(v))
      upload.set('file', file, file.name)
      return upload
    }
    const names = String(f.get('deviceNames') ?? '').split(/[\s,]+/).filter(n => n !== '')
    return { ...Object.fromEntries(Object.entries(job).filter(([, v]) => v !== undefined)), deviceNames: names }
  }
  const run = async (f: () => Promise<void>): Promise<void> => {
    setBusy(true)
    try { await f(); setError(null) } catch (err) { setError(err instanceof ApiFailure && err.field !== undefined ? `${err.message} (field ${err.field})` : (err as Error).message) } finally { setBusy(false) }
  }
  const doPreview = (e: Event): void => { e.preventDefault(); void run(async () => setPreview(await api<Preview>('POST', '/distribution/jobs?dryRun=true', body()))) }
  const start = (): void => { void run(async () => { const { jobId } = await api<{ jobId: string }>('POST', '/distribution/jobs', body()); go(`jobs/${jobId}`) }) }
  const changed = (): void => setPreview(null)
  const own = instances.filter(i => i.id !== source)

  return (
    <form ref={form} class='card job-form' onSubmit={doPreview} onInput={changed} aria-label='Distribution job'>
      <fieldset>
        <legend>Kind of job</legend>
        {([['region', 'Region: to one of my instances'], ['nearest', 'Nearest access: each device to the nearest of my chosen instances'], ['cross-account', 'Cross-account: to another account\'s instance, with its verification code']] as const).map(([k, label]) => (
          <label key={k} class='radio'><input type='radio' name='kind' value={k} checked={kind === k} onChange={() => setKind(k)} /> {label}</label>
        ))}
      </fieldset>
      <label>Source instance <select name='sourceInstanceId' value={source} onChange={e => setSource((e.currentTarget as HTMLSelectElement).value)}>{instances.map(i => <option key={i.id}>{i.id}</option>)}</select></label>
      <label>Product <select name='productKey'>{products.filter(p => p.instanceId === source).map(p => <option key={p.productKey} value={p.productKey}>{p.productKey} ({p.name})</option>)}</select></label>
      {kind === 'region' && <label>Target instance <select name='targetInstanceId'>{own.map(i => <option key={i.id}>{i.id}</option>)}</select></label>}
      {kind === 'nearest' && (
        <fieldset><legend>Targets: at most one instance per region</legend>
          {regions.map(r => (
            <label key={r.id}>{r.name} ({r.id}) <select name={`target-${r.id}`}><option value=''>none</option>{instances.filter(i => i.region === r.id).map(i => <option key={i.id}>{i.id}</option>)}</select></label>
          ))}
        </fieldset>
      )}
      {kind === 'cross-account' && (
        <fieldset><legend>Destination</legend>
          <label>Account (id or name) <input name='targetAccount' /></label>
          <label>Its instance <input name='crossInstanceId' /></label>
          <label>Verification code (from that account's owner) <input name='verificationCode' inputMode='numeric' autoComplete='off' /></label>
        </fieldset>
      )}
      <fieldset><legend>Devices</legend>
        <label>Device names, one per line <textarea name='deviceNames' rows={5} /></label>
        <label>…or a CSV file (productKey,deviceName) <input type='file' name='file' accept='.csv,text/csv' /></label>
      </fieldset>
      <fieldset><legend>Pace and settling (optional: without them the job moves as fast as it can)</legend>
        <div class='pace'>
          <label>Rate (notifies per second) <input type='number' name='rate' min={1} max={100000} step={1} inputMode='numeric' /></label>
          <label>Wave size (devices) <input type='number' name='waveSize' min={1} max={10000} step={1} inputMode='numeric' /></label>
          <label>Pause between waves (seconds) <input type='number' name='wavePauseSeconds' min={0} max={86400} step='any' inputMode='decimal' /></label>
          <label>Settle timeout (seconds) <input type='number' name='settleTimeoutSeconds' min={0} max={86400} step={1} inputMode='numeric' /></label>
        </div>
      </fieldset>
      <div class='actions'>
        <button type='submit' disabled={busy}>Preview</button>
        <button type='button' disabled={busy || preview === null} onClick={start}>Start job</button>
      </div>
      <ErrorText error={error} />
      {preview !== null && <PreviewTable preview={preview} />}
    </form>
  )
}

/** Nearest access: where the device's last address points (its next bootstrap's address decides). */
function likely (l: { instanceId: string, fallback: boolean, address: string | null } | undefined): string {
  if (l === undefined) return ''
  return l.fallback ? `; likely ${l.instanceId} (fallback: ${l.address === null ? 'no known address' : `${l.address} not located`})` : `; likely ${l.instanceId} (nearest to ${l.address ?? '?'})`
}

function PreviewTable ({ preview }: { preview: Preview }) {
  return (
    <section aria-labelledby='preview-title' class='preview'>
      <h2 id='preview-title'>Preview: {preview.counts.ok} of {preview.counts.total} devices will move, {preview.counts.refused} refused</h2>
      <p>Product copy goes to: {preview.productTo.join(', ') || 'no other instance'}. Nothing has been stored yet.</p>
      <table class='grid' aria-label='Preview'>
        <thead><tr><th scope='col'>Device</th><th scope='col'>Outcome</th></tr></thead>
        <tbody>
          {preview.devices.map(d => (
            <tr key={d.deviceName} class={d.ok ? 'ok' : 'refused'}>
              <td>{d.deviceName}</td>
              <td>{d.ok ? `→ ${d.destination}${d.destination === d.candidates[0] ? '' : ` among ${d.candidates.join(', ')}`}${likely(d.likely)}${d.online ? ' (online: will be notified and moved)' : ''}` : `refused: ${d.code}: ${d.message}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
