// Devices of every product: search by name, filter by instance, status and tag, paging.
import { useState } from 'preact/hooks'
import { loadFleet } from './fleet'
import { href, useLoad, when } from './hooks'
import type { Device } from './types'
import { Badge, Page, Status } from './ui'

const PAGE = 20

export function Devices ({ params }: { params: URLSearchParams }) {
  const fleet = useLoad(loadFleet, [])
  const [search, setSearch] = useState('')
  const [product, setProduct] = useState(params.get('product') ?? '')
  const [instance, setInstance] = useState('')
  const [status, setStatus] = useState('')
  const [tag, setTag] = useState('')
  const [page, setPage] = useState(0)
  const matches = (d: Device): boolean => {
    if (search !== '' && !d.deviceName.toLowerCase().includes(search.toLowerCase())) return false
    if (product !== '' && d.productKey !== product) return false
    if (instance !== '' && d.instanceId !== instance) return false
    if (status !== '' && d.status !== status) return false
    if (tag !== '') {
      const [k = '', v] = tag.split('=')
      if (!(k in d.tags) || (v !== undefined && d.tags[k] !== v)) return false
    }
    return true
  }
  const set = (f: (v: string) => void) => (e: Event) => { f((e.currentTarget as HTMLInputElement).value); setPage(0) }
  return (
    <Page title='Devices' actions={<button type='button' onClick={fleet.reload}>Refresh</button>}>
      <Status loaded={fleet}>{f => {
        // A device is listed once, at the instance it lives at (the product copy there lists it too).
        const seen = new Set<string>()
        const all = f.devices.filter(d => { const k = `${d.productKey}/${d.deviceName}`; if (seen.has(k)) return false; seen.add(k); return true })
        const shown = all.filter(matches)
        const pages = Math.max(1, Math.ceil(shown.length / PAGE))
        const at = Math.min(page, pages - 1)
        return (
          <>
            <form class='filters' role='search' onSubmit={e => e.preventDefault()}>
              <label>Name <input type='search' value={search} onInput={set(setSearch)} name='search' /></label>
              <label>Product <select value={product} onChange={set(setProduct)} name='product'><option value=''>all</option>{[...new Set(f.products.map(p => p.productKey))].map(pk => <option key={pk}>{pk}</option>)}</select></label>
              <label>Instance <select value={instance} onChange={set(setInstance)} name='instance'><option value=''>all</option>{f.instances.map(i => <option key={i.id}>{i.id}</option>)}</select></label>
              <label>Status <select value={status} onChange={set(setStatus)} name='status'><option value=''>all</option>{['online', 'offline', 'inactive', 'disabled'].map(s => <option key={s}>{s}</option>)}</select></label>
              <label>Tag (key or key=value) <input value={tag} onInput={set(setTag)} name='tag' /></label>
            </form>
            <table class='grid' aria-label='Devices'>
              <thead><tr><th scope='col'>Device</th><th scope='col'>Product</th><th scope='col'>Instance</th><th scope='col'>Status</th><th scope='col'>Tags</th><th scope='col'>Last connect</th></tr></thead>
              <tbody>
                {shown.slice(at * PAGE, at * PAGE + PAGE).map(d => (
                  <tr key={`${d.productKey}/${d.deviceName}`} data-device={d.deviceName}>
                    <td><a href={href('device', d.productKey, d.deviceName)}>{d.deviceName}</a></td>
                    <td>{d.productKey}</td>
                    <td>{d.instanceId ?? `waiting among ${(d.candidates ?? []).map(c => c.instanceId).join(', ')}`}</td>
                    <td><Badge status={d.status} /></td>
                    <td>{Object.entries(d.tags).map(([k, v]) => <span class='tag' key={k}>{k}={v}</span>)}</td>
                    <td>{when(d.lastConnectAt)}</td>
                  </tr>
                ))}
                {shown.length === 0 && <tr><td colSpan={6}>No device matches.</td></tr>}
              </tbody>
            </table>
            <nav class='pager' aria-label='Pages'>
              <button type='button' disabled={at === 0} onClick={() => setPage(at - 1)}>Previous</button>
              <span>Page {at + 1} of {pages} ({shown.length} devices)</span>
              <button type='button' disabled={at >= pages - 1} onClick={() => setPage(at + 1)}>Next</button>
            </nav>
          </>
        )
      }}
      </Status>
    </Page>
  )
}
