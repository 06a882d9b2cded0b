// One unlabelled sample of a process's /metrics, read over a connection of its own that closes
// (Node's http client without an agent sends `Connection: close`), so the scrape itself is never
// one of the connections a test counts as kept open.
import http from 'node:http'

/** The value of `name` (a metric without labels); NaN when it is absent. */
export function scrapeSample (port: number, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, res => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
      res.on('end', () => resolve(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)))
    }).on('error', reject)
  })
}
