// Raw HTTP/1.1 over a socket, for what fetch will not send: a body cut short, a body that never ends,
// a request without a Host header.
import net from 'node:net'

export interface RawAnswer {
  status: number
  head: string
  body: string
  json: any // any: tests read answers by path, and a wrong path fails the assertion anyway
}

export function parseAnswer (raw: string): RawAnswer {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`no complete HTTP head in ${JSON.stringify(raw.slice(0, 200))}`)
  const head = raw.slice(0, end)
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN)
  let body = raw.slice(end + 4)
  const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1]
  if (length !== undefined) body = body.slice(0, Number(length))
  let json: unknown = null
  try {
    json = JSON.parse(body)
  } catch {}
  return { status, head, body, json }
}

/** Sends the bytes, then reads until the server closes or `timeoutMs` passes (an error names what was read). */
export function rawRequest (port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      const read = Buffer.concat(chunks).toString('latin1')
      // An answer with keep-alive leaves the socket open: a complete one is fine.
      try {
        resolve(parseAnswer(read))
      } catch {
        reject(new Error(`no answer within ${timeoutMs} ms; read ${JSON.stringify(read.slice(0, 200))}`))
      }
    }, timeoutMs)
    socket.on('data', chunk => {
      chunks.push(chunk)
      const read = Buffer.concat(chunks).toString('latin1')
      try {
        const answer = parseAnswer(read)
        const length = /\r\ncontent-length: *(\d+)/i.exec(answer.head)?.[1]
        if (length !== undefined && Buffer.byteLength(answer.body) >= Number(length)) {
          clearTimeout(timer)
          socket.destroy()
          resolve(answer)
        }
      } catch {}
    })
    const done = (): void => {
      clearTimeout(timer)
      try {
        resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')))
      } catch (err) {
        reject(err)
      }
    }
    socket.on('close', done)
    socket.on('error', () => {})
    socket.write(bytes)
  })
}

export interface StreamedAnswer {
  answer: RawAnswer
  /** Body bytes written before the first byte of the answer arrived (or the server closed). */
  sentBeforeAnswer: number
}

/**
 * Sends `head`, then body chunks of `chunk` bytes, one per millisecond, (chunked transfer encoding when `chunked`) for as
 * long as the server reads them, up to `total` bytes; stops at the first byte of an answer.
 * Fails after `timeoutMs` without an answer.
 */
export async function streamRequest (port: number, head: string, opts: { chunk: Buffer, total: number, chunked: boolean, timeoutMs?: number }): Promise<StreamedAnswer> {
  // The server answers, then closes a connection whose body it left unread. Bytes the client still
  // had in flight then meet a closed socket, and the reset that follows can discard the answer
  // before the client read it (TCP, RFC 9293 3.10.7.4). That is a race of the test's pacing, not a
  // missing answer: try again, a few times, and fail if no attempt read one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await streamOnce(port, head, opts)
    } catch (err) {
      if (attempt === 3 || !/no complete HTTP head/.test((err as Error).message)) throw err
    }
  }
}

function streamOnce (port: number, head: string, opts: { chunk: Buffer, total: number, chunked: boolean, timeoutMs?: number }): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const received: Buffer[] = []
    let sent = 0
    let sentBeforeAnswer: number | null = null
    let finished = false
    const finish = (): void => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      socket.destroy()
      try {
        resolve({ answer: parseAnswer(Buffer.concat(received).toString('latin1')), sentBeforeAnswer: sentBeforeAnswer ?? sent })
      } catch (err) {
        reject(new Error(`after ${sent} body bytes: ${(err as Error).message}`))
      }
    }
    const timer = setTimeout(() => {
      finished = true
      socket.destroy()
      reject(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms after ${sent} body bytes`))
    }, opts.timeoutMs ?? 10_000)
    socket.on('data', data => {
      sentBeforeAnswer ??= sent
      received.push(data)
      // Wait for the whole (small) answer, then stop.
      setTimeout(finish, 100)
    })
    socket.on('close', () => { sentBeforeAnswer ??= sent; setTimeout(finish, 100) })
    socket.on('error', () => {})
    const frame = opts.chunked ? Buffer.concat([Buffer.from(`${opts.chunk.length.toString(16)}\r\n`), opts.chunk, Buffer.from('\r\n')]) : opts.chunk
    // Paced (a chunk per millisecond), so that what was sent is about what the server could have read,
    // not what the socket buffers held.
    const pump = (): void => {
      if (finished || sentBeforeAnswer !== null || sent >= opts.total || socket.destroyed) return
      sent += opts.chunk.length
      if (socket.write(frame)) setTimeout(pump, 1)
      else socket.once('drain', pump)
    }
    socket.write(head, pump)
  })
}
