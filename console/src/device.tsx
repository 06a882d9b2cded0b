// One device: its state, its certificate on request, its tags, and a timeline of what happened to it
// put together from what the API keeps (the device's own times, its placement, the records of the
// jobs of its product that name it).
import { useState } from 'preact/hooks'
import { api, apiText, q } from './api'
import { parseCsv } from './csv'
import { href, useLoad, when } from './hooks'
import type { Device, Job } from './types'
import { Badge, ErrorText, Page, Status } from './ui'

interface Event { at: number, what: string }

async function timeline (device: Device): Promise<Event[]> {
  const events: Event[] = [{ at: device.createdAt, what: `created${device.originInstanceId === null ? '' : ` at ${device.originInstanceId}`}` }]
  const { jobs } = await api<{ jobs: Job[] }>('GET', `/distribution/jobs${q({ productKey: device.productKey, limit: 50 })}`)
  for (const job of jobs) {
    const rows = parseCsv(await apiText(`/distribution/jobs/${encodeURIComponent(job.id)}/records`))
    const row = rows.slice(1).find(r => r[1] === device.deviceName)
    if (row !== undefined) events.push({ at: job.updatedAt, what: `job ${job.id} (${job.sourceInstanceId} → ${job.targetInstanceId ?? 'nearest access'}): ${row[2] === 'success' ? '' : `${row[2] ?? ''}: `}${row[3] ?? ''}` })
  }
  const p = device.placement
  if (p !== null) events.push({ at: p.at, what: `bootstrapped${p.address === null ? '' : ` from ${p.address}`}, sent to ${p.instanceId} (${p.region}${p.fallback ? ', fallback' : ', nearest'})` })
  const from = device.ipAddress === null ? '' : ` from ${device.ipAddress}`
  const at = device.instanceId ?? '?'
  if (device.firstConnectAt !== null) events.push({ at: device.firstConnectAt, what: `first connected at ${at}${device.lastConnectAt === device.firstConnectAt ? from : ''} (activated there)` })
  if (device.lastConnectAt !== null && device.lastConnectAt !== device.firstConnectAt) events.push({ at: device.lastConnectAt, what: `connected at ${at}${from}` })
  if (device.lastDisconnectAt !== null) events.push({ at: device.lastDisconnectAt, what: `disconnected from ${at}` })
  if (!device.enabled) events.push({ at: Number.MAX_SAFE_INTEGER, what: 'disabled (now)' })
  return events.sort((a, b) => a.at - b.at)
}

export function DevicePage ({ productKey, deviceName }: { productKey: string, deviceName: string }) {
  const path = `/products/${encodeURIComponent(productKey)}/devices/${encodeURIComponent(deviceName)}`
  const device = useLoad(() => api<Device>('GET', path), [path])
  const events = useLoad(async () => device.data === null ? [] : timeline(device.data), [device.data])
  const [secret, setSecret] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const act = (f: () => Promise<void>) => async () => { try { await f(); setError(null) } catch (err) { setError((err as Error).message) } }
  const showCertificate = act(async () => { setSecret((await api<{ deviceSecret: string }>('GET', `${path}/certificate`)).deviceSecret) })
  const toggle = act(async () => { await api('POST', `${path}/${device.data?.enabled === true ? 'disable' : 'enable'}`); device.reload() })
  const saveTags = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault()
    const text = String(new FormData(e.currentTarget as HTMLFormElement).get('tags') ?? '')
    const tags = Object.fromEntries(text.split('\n').map(l => l.trim()).filter(l => l !== '').map(l => { const i = l.indexOf('='); return i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()] }))
    await act(async () => { await api('PUT', `${path}/tags`, tags); device.reload() })()
  }
  return (
    <Page title={`Device ${productKey}/${deviceName}`}>
      <p><a href={href('devices')}>← all devices</a></p>
      <ErrorText error={error} />
      <Status loaded={device}>{d => (
        <div class='columns'>
          <div>
            <dl class='facts'>
              <dt>Status</dt><dd><Badge status={d.status} /></dd>
              <dt>Instance</dt><dd>{d.instanceId ?? `waiting for nearest placement among ${(d.candidates ?? []).map(c => c.instanceId).join(', ')}`}</dd>
              <dt>Created at</dt><dd>{d.originInstanceId ?? '(another account\'s instance)'}{d.distributed ? ' (distributed away since)' : ''}</dd>
              <dt>Online since</dt><dd>{when(d.onlineSince)}</dd>
              <dt>Last address</dt><dd>{d.ipAddress ?? '—'}</dd>
              <dt>Certificate</dt>
              <dd>{secret === null ? <button type='button' onClick={showCertificate}>Show certificate</button> : <code class='secret' aria-label='Device secret'>{secret}</code>}</dd>
            </dl>
            <button type='button' onClick={toggle}>{d.enabled ? 'Disable device' : 'Enable device'}</button>
            <form class='card' onSubmit={saveTags} aria-labelledby='tags-title'>
              <h2 id='tags-title'>Tags</h2>
              <label>One key=value per line <textarea name='tags' rows={4} value={Object.entries(d.tags).map(([k, v]) => `${k}=${v}`).join('\n')} /></label>
              <button type='submit'>Save tags</button>
            </form>
          </div>
          <div>
            <h2 id='timeline-title'>Timeline</h2>
            <Status loaded={events}>{list => (
              <ol class='timeline' aria-labelledby='timeline-title'>
                {list.map((ev, i) => <li key={i}><time>{ev.at === Number.MAX_SAFE_INTEGER ? 'now' : when(ev.at)}</time> {ev.what}</li>)}
              </ol>
            )}
            </Status>
          </div>
        </div>
      )}
      </Status>
    </Page>
  )
}
