// Small hooks: load data from the API, follow the hash route, poll.
import { useCallback, useEffect, useState } from 'preact/hooks'

export interface Loaded<T> { data: T | null, error: string | null, loading: boolean, reload: () => void }

export function useLoad<T> (load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null, error: string | null, loading: boolean }>({ data: null, error: null, loading: true })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    setState(s => ({ ...s, loading: true }))
    load().then(
      data => { if (live) setState({ data, error: null, loading: false }) },
      (err: Error) => { if (live) setState({ data: null, error: err.message, loading: false }) }
    )
    return () => { live = false }
  }, [...deps, tick])
  const reload = useCallback(() => setTick(t => t + 1), [])
  return { ...state, reload }
}

export interface Route { path: string[], params: URLSearchParams }

export function useHashRoute (): Route {
  const read = (): Route => {
    const [path = '', search = ''] = window.location.hash.replace(/^#\/?/, '').split('?')
    return { path: path.split('/').filter(p => p !== '').map(decodeURIComponent), params: new URLSearchParams(search) }
  }
  const [route, setRoute] = useState(read)
  useEffect(() => {
    const onChange = (): void => setRoute(read())
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return route
}

export function useInterval (fn: () => void, ms: number | null): void {
  useEffect(() => {
    if (ms === null) return
    const id = setInterval(fn, ms)
    return () => clearInterval(id)
  }, [fn, ms])
}

export const go = (path: string): void => { window.location.hash = `#/${path}` }
export const href = (...parts: string[]): string => `#/${parts.map(encodeURIComponent).join('/')}`
export const when = (ms: number | null): string => ms === null ? '—' : new Date(ms).toLocaleString()
