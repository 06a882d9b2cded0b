// One device: its state, its certificate on request, its tags, and its timeline: the events the
// registry keeps for it (GET .../events), oldest first, each put into words here from its fields.
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { api, q } from './api'
import { href, useLoad, when } from './hooks'
import type { Device, DeviceEvent } from './types'
import { Badge, ErrorText, Page, Status } from './ui'

/** As many as the registry keeps by default (docs/configuration.md, limits.deviceEvents). */
const EVENTS = 200

/** Why a connection closed, in words (docs/operations.md, "Device timeline"). */
const REASONS: Record<string, string> = {
  client: 'the device disconnected',
  timeout: 'keepalive timed out',
  kicked: 'moved away',
  replaced: 'replaced by a newer connection',
  disabled: 'disabled',
  deleted: 'deleted',
  limit: 'over a broker limit',
  shutdown: 'the broker node stopped',
  closed: 'connection lost'
}

const jobLink = (id: string | null | undefined): ComponentChildren => id == null ? null : <> by job <a href={href('jobs', id)}>{id}</a></>
const from = (address: string | null): string => address === null ? '' : ` from ${address}`

function describe (e: DeviceEvent): ComponentChildren {
  switch (e.kind) {
    case 'created': return `created at ${e.instanceId}`
    case 'bootstrapped': return `bootstrapped${from(e.address)}, sent to ${e.instanceId} (${e.region}, ${e.endpoint.host}:${e.endpoint.port})`
    case 'connected': return `connected at ${e.instanceId}${from(e.address)} (${e.transport}, node ${e.nodeId}${e.sdk === 'other' ? '' : `, ${e.sdk} SDK${e.sdkVersion === null ? '' : ` ${e.sdkVersion}`}`})`
    case 'disconnected': return `disconnected from ${e.instanceId}: ${REASONS[e.reason] ?? e.reason}`
    case 'notified': return `notified at ${e.instanceId} that it moved`
    case 'answered': return `answered the notify at ${e.instanceId}`
    case 'moved': {
      const to = e.to === undefined ? 'another account\'s instance' : e.to === null ? 'nearest access (placed at its next bootstrap)' : e.to
      return <>moved {e.from === undefined ? 'in from another account' : `from ${e.from}`} to {to}{jobLink(e.jobId)}</>
    }
    case 'placed': return <>placed at {e.instanceId} ({e.region}), {e.fallback ? 'fallback' : 'nearest'}{from(e.address)}{jobLink(e.jobId)}</>
    case 'disabled': return `disabled at ${e.instanceId}`
    case 'enabled': return `enabled at ${e.instanceId}`
    case 'tags': return `tags replaced at ${e.instanceId} (${e.count} now)`
  }
}

async function timeline (device: Device): Promise<DeviceEvent[]> {
  const path = `/products/${encodeURIComponent(device.productKey)}/devices/${encodeURIComponent(device.deviceName)}/events${q({ limit: EVENTS })}`
  return (await api<{ events: DeviceEvent[] }>('GET', path)).events.slice().reverse()
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
                {list.length === 0 ? <li>Nothing recorded yet.</li> : list.map((ev, i) => <li key={i} data-kind={ev.kind}><time>{when(ev.at)}</time> {describe(ev)}</li>)}
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
