// A distribution job as an operator uploads it: a multipart form with the job's fields and a CSV
// file of its devices, POSTed to the jobs API.
import { TOKENS, type ApiAnswer } from './test-sidecar.js'

/** A this-account job by region from iot-sh-1 to iot-de-1 (the test topology), the product left to the file. */
export const REGION_JOB_FIELDS: Record<string, string> = { method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-de-1' }

export function jobForm (csv: string, fields: Record<string, string> = REGION_JOB_FIELDS): FormData {
  const form = new FormData()
  for (const [k, v] of Object.entries(fields)) form.set(k, v)
  form.set('file', new Blob([csv], { type: 'text/csv' }), 'devices.csv')
  return form
}

/** POSTs `form` to the jobs API of the sidecar at `url`; `query` e.g. `?dryRun=true`. Every answer is JSON. */
export async function uploadJob (url: string, form: FormData, token: string = TOKENS.acme, query = ''): Promise<ApiAnswer> {
  const res = await fetch(`${url}/api/v1/distribution/jobs${query}`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form })
  const text = await res.text()
  return { status: res.status, headers: res.headers, json: JSON.parse(text), text }
}
