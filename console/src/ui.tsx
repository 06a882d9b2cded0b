// Shared pieces of the console's pages.
import type { ComponentChildren } from 'preact'
import type { Loaded } from './hooks'

export function Page ({ title, children, actions }: { title: string, children: ComponentChildren, actions?: ComponentChildren }) {
  return (
    <section aria-labelledby='page-title'>
      <header class='page-head'><h1 id='page-title' tabIndex={-1}>{title}</h1>{actions}</header>
      {children}
    </section>
  )
}

export function Status<T> ({ loaded, children }: { loaded: Loaded<T>, children: (data: T) => ComponentChildren }) {
  if (loaded.error !== null) return <p class='error' role='alert'>{loaded.error}</p>
  if (loaded.data === null) return <p aria-busy='true'>Loading…</p>
  return <>{children(loaded.data)}</>
}

export function ErrorText ({ error }: { error: string | null }) {
  return error === null ? null : <p class='error' role='alert'>{error}</p>
}

export function Badge ({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>
}

export function Bar ({ label, value, total }: { label: string, value: number, total: number }) {
  const pct = total === 0 ? 0 : Math.round(value / total * 100)
  return (
    <div class='bar'>
      <span class='bar-label' id={`bar-${label}`}>{label}</span>
      <div class='bar-track' role='progressbar' aria-labelledby={`bar-${label}`} aria-valuemin={0} aria-valuemax={total} aria-valuenow={value} data-label={label}>
        <div class={`bar-fill bar-${label}`} style={{ width: `${pct}%` }} />
      </div>
      <span class='bar-count'>{value} / {total}</span>
    </div>
  )
}
