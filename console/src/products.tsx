// Products of the account's instances (a distributed copy is shown read-only), with the forms that
// create a product and its devices.
import { useState } from 'preact/hooks'
import { api } from './api'
import { loadInstances, loadProducts } from './fleet'
import { href, useLoad, when } from './hooks'
import type { Product } from './types'
import { ErrorText, Page, Status } from './ui'

export function Products () {
  const products = useLoad(() => loadProducts(), [])
  const instances = useLoad(loadInstances, [])
  return (
    <Page title='Products'>
      <Status loaded={products}>{list => (
        <table class='grid' aria-label='Products'>
          <thead><tr><th scope='col'>Product</th><th scope='col'>Name</th><th scope='col'>Instance</th><th scope='col'>Kind</th><th scope='col'>Created</th></tr></thead>
          <tbody>
            {list.map(p => (
              <tr key={`${p.productKey}@${p.instanceId}`}>
                <td><a href={`${href('devices')}?product=${encodeURIComponent(p.productKey)}`}>{p.productKey}</a></td>
                <td>{p.name}</td><td>{p.instanceId}</td>
                <td>{p.readOnly ? <span class='badge badge-readonly' title={`a read-only copy distributed from ${p.sourceInstanceId ?? '?'}`}>read-only copy of {p.sourceInstanceId}</span> : 'own'}</td>
                <td>{when(p.createdAt)}</td>
              </tr>
            ))}
            {list.length === 0 && <tr><td colSpan={5}>No products yet.</td></tr>}
          </tbody>
        </table>
      )}
      </Status>
      <div class='forms'>
        <Status loaded={instances}>{({ instances: list }) => <NewProduct instances={list.map(i => i.id)} onDone={products.reload} />}</Status>
        <Status loaded={products}>{list => <NewDevices products={list.filter(p => !p.readOnly)} onDone={products.reload} />}</Status>
      </div>
    </Page>
  )
}

function NewProduct ({ instances, onDone }: { instances: string[], onDone: () => void }) {
  const [error, setError] = useState<string | null>(null)
  const [created, setCreated] = useState<string | null>(null)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    const productKey = String(form.get('productKey') ?? '').trim()
    try {
      const p = await api<Product>('POST', '/products', { instanceId: form.get('instanceId'), name: form.get('name'), ...(productKey === '' ? {} : { productKey }) })
      setError(null)
      setCreated(`Product ${p.productKey} created at ${p.instanceId}.`)
      onDone()
    } catch (err) { setError((err as Error).message); setCreated(null) }
  }
  return (
    <form class='card' onSubmit={submit} aria-labelledby='new-product'>
      <h2 id='new-product'>New product</h2>
      <label>Instance <select name='instanceId' required>{instances.map(i => <option key={i}>{i}</option>)}</select></label>
      <label>Name <input name='name' required maxLength={64} /></label>
      <label>Product key (optional) <input name='productKey' pattern='[A-Za-z0-9]{4,32}' /></label>
      <button type='submit'>Create product</button>
      <ErrorText error={error} />
      {created !== null && <p role='status'>{created}</p>}
    </form>
  )
}

interface Certificates { productKey: string, instanceId: string, certificates: { deviceName: string, deviceSecret: string }[] }

function NewDevices ({ products, onDone }: { products: Product[], onDone: () => void }) {
  const [error, setError] = useState<string | null>(null)
  const [created, setCreated] = useState<Certificates | null>(null)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    const [productKey, instanceId] = String(form.get('product')).split('@')
    const names = String(form.get('deviceNames') ?? '').split(/[\s,]+/).filter(n => n !== '')
    const count = Number(form.get('count') ?? 0)
    try {
      const body = names.length > 0 ? { instanceId, deviceNames: names } : { instanceId, count: count > 0 ? count : 1 }
      setCreated(await api<Certificates>('POST', `/products/${encodeURIComponent(productKey ?? '')}/devices`, body))
      setError(null)
      onDone()
    } catch (err) { setError((err as Error).message); setCreated(null) }
  }
  return (
    <form class='card' onSubmit={submit} aria-labelledby='new-devices'>
      <h2 id='new-devices'>New devices</h2>
      <label>Product <select name='product' required>{products.map(p => <option key={`${p.productKey}@${p.instanceId}`} value={`${p.productKey}@${p.instanceId}`}>{p.productKey} ({p.name}) at {p.instanceId}</option>)}</select></label>
      <label>Device names (one per line, or leave empty) <textarea name='deviceNames' rows={3} /></label>
      <label>…or how many, with generated names <input name='count' type='number' min={1} max={10000} /></label>
      <button type='submit' disabled={products.length === 0}>Create devices</button>
      <ErrorText error={error} />
      {created !== null && (
        <div role='status'>
          <p>{created.certificates.length} devices created in {created.productKey} at {created.instanceId}. Their secrets are shown once here (and on a device's page on request).</p>
          <table class='grid' aria-label='Certificates'><thead><tr><th scope='col'>Device</th><th scope='col'>Secret</th></tr></thead>
            <tbody>{created.certificates.map(c => <tr key={c.deviceName}><td><a href={href('device', created.productKey, c.deviceName)}>{c.deviceName}</a></td><td><code>{c.deviceSecret}</code></td></tr>)}</tbody>
          </table>
        </div>
      )}
    </form>
  )
}
