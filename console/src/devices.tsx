// Devices of a product at an instance, filtered and paged by the server: status, the start of the
// name, and a cursor per page, so a page costs the same however large the fleet is.
import { useState } from 'preact/hooks'
import { loadDevicePage, loadProducts } from './fleet'
import { href, useLoad, when } from './hooks'
import type { Product } from './types'
import { Badge, Page, Status } from './ui'

const PAGE = 20
const NAME = /^[A-Za-z0-9_@.:-]{0,32}$/
/** What the API takes as a tag filter (key, or key=value); anything else filters nothing yet. */
const TAG = /^([A-Za-z][A-Za-z0-9_.:-]{0,63}(=[^\p{Cc}]{1,128})?)?$/u

export function Devices ({ params }: { params: URLSearchParams }) {
  const products = useLoad(() => loadProducts(), [])
  const [chosen, setChosen] = useState(params.get('product') ?? '')
  const [status, setStatus] = useState('')
  const [prefix, setPrefix] = useState('')
  const [tag, setTag] = useState('')
  // The cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<string[]>([])
  const set = (f: (v: string) => void) => (e: Event) => { f((e.currentTarget as HTMLInputElement).value); setCursors([]) }
  return (
    <Page title='Devices' actions={<button type='button' onClick={products.reload}>Refresh</button>}>
      <Status loaded={products}>{list => {
        const product = list.find(p => `${p.productKey}@${p.instanceId}` === chosen) ?? list.find(p => p.productKey === chosen) ?? list[0]
        const selected = product === undefined ? '' : `${product.productKey}@${product.instanceId}`
        const options = list.map(p => <option key={`${p.productKey}@${p.instanceId}`} value={`${p.productKey}@${p.instanceId}`}>{p.productKey} at {p.instanceId}</option>)
        return (
          <>
            <form class='filters' role='search' onSubmit={e => e.preventDefault()}>
              <label>Product <select value={selected} onChange={set(setChosen)} name='product'>{options}</select></label>
              <label>Status <select value={status} onChange={set(setStatus)} name='status'><option value=''>all</option>{['online', 'offline', 'inactive', 'disabled'].map(s => <option key={s}>{s}</option>)}</select></label>
              <label>Name starts with <input type='search' value={prefix} onInput={set(setPrefix)} name='prefix' pattern='[A-Za-z0-9_@.:\-]{0,32}' /></label>
              <label>Tag <input type='search' value={tag} onInput={set(setTag)} name='tag' placeholder='key or key=value' /></label>
            </form>
            {product === undefined
              ? <p>No product yet.</p>
              : <DeviceTable product={product} status={status} prefix={NAME.test(prefix) ? prefix : ''} tag={TAG.test(tag) ? tag : ''} cursors={cursors} setCursors={setCursors} />}
          </>
        )
      }}
      </Status>
    </Page>
  )
}

function DeviceTable ({ product, status, prefix, tag, cursors, setCursors }: { product: Product, status: string, prefix: string, tag: string, cursors: string[], setCursors: (c: string[]) => void }) {
  const cursor = cursors.at(-1)
  const page = useLoad(() => loadDevicePage(product, { status, prefix, tag, cursor, limit: PAGE }), [product.productKey, product.instanceId, status, prefix, tag, cursor])
  return (
    <Status loaded={page}>{p => (
      <>
        <table class='grid' aria-label='Devices'>
          <thead><tr><th scope='col'>Device</th><th scope='col'>Instance</th><th scope='col'>Status</th><th scope='col'>Tags</th><th scope='col'>Last connect</th></tr></thead>
          <tbody>
            {p.devices.map(d => (
              <tr key={`${d.productKey}/${d.deviceName}`} data-device={d.deviceName}>
                <td><a href={href('device', d.productKey, d.deviceName)}>{d.deviceName}</a></td>
                <td>{d.instanceId ?? `waiting among ${(d.candidates ?? []).map(c => c.instanceId).join(', ')}`}</td>
                <td><Badge status={d.status} /></td>
                <td>{Object.entries(d.tags).map(([k, v]) => <span class='tag' key={k}>{k}={v}</span>)}</td>
                <td>{when(d.lastConnectAt)}</td>
              </tr>
            ))}
            {p.devices.length === 0 && <tr><td colSpan={5}>No device matches.</td></tr>}
          </tbody>
        </table>
        <nav class='pager' aria-label='Pages'>
          <button type='button' disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <span>Page {cursors.length + 1} ({p.total} devices: {p.counts.online} online, {p.counts.offline} offline, {p.counts.inactive} inactive, {p.counts.disabled} disabled{tag === '' ? '' : '; the tag filter is not counted'})</span>
          <button type='button' disabled={p.next === null} onClick={() => { if (p.next !== null) setCursors([...cursors, p.next]) }}>Next</button>
        </nav>
      </>
    )}
    </Status>
  )
}
