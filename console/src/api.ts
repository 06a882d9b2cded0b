// Every call of the console goes through the public management API (/api/v1) with the account's
// token: the console can do nothing the API does not allow. The token lives in sessionStorage, so
// it is gone when the browser session ends.
const TOKEN_KEY = 'homing.token'
const BASE = new URL('../api/v1', window.location.href).pathname

export class ApiFailure extends Error {
  constructor (readonly status: number, message: string, readonly field?: string) {
    super(message)
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => { sessionStorage.setItem(TOKEN_KEY, value) },
  clear: (): void => { sessionStorage.removeItem(TOKEN_KEY) }
}

let onUnauthorized: () => void = () => {}
export function whenUnauthorized (handler: () => void): void { onUnauthorized = handler }

async function request (method: string, path: string, body?: unknown, raw?: boolean): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token.get() ?? ''}` }
  let payload: BodyInit | undefined
  if (body instanceof FormData) payload = body
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  const res = await fetch(`${BASE}${path}`, { method, headers, body: payload })
  if (res.ok || raw === true) return res
  let message = `${res.status} ${res.statusText}`
  let field: string | undefined
  try {
    const answer = await res.json() as { error?: { message?: string, field?: string } }
    message = answer.error?.message ?? message
    field = answer.error?.field
  } catch {}
  if (res.status === 401) onUnauthorized()
  throw new ApiFailure(res.status, message, field)
}

export async function api<T> (method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body)
  return (res.status === 204 ? null : await res.json()) as T
}

export async function apiText (path: string): Promise<string> {
  return (await request('GET', path)).text()
}

/** Downloads an authenticated file (the bearer token cannot ride on a plain link). */
export async function download (path: string, filename: string): Promise<void> {
  const blob = await (await request('GET', path)).blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export const q = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v))
  const s = search.toString()
  return s === '' ? '' : `?${s}`
}
