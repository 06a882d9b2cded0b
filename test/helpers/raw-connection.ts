// One raw TCP connection to an HTTP server, from a chosen local address (127.0.0.2 is another peer
// on Linux loopback): requests go out as given, answers are split by their Content-Length, and the
// server's close is seen. For the tests of connections kept open (docs/operations.md, "Behind a load balancer").
import net from 'node:net'
import { within, WAIT_MS } from './wait.js'

export class RawConnection {
  private data = Buffer.alloc(0)
  private readonly answers: Buffer[] = []
  private wake: (() => void) | null = null
  /** Resolves when the server has closed (or reset) the connection. */
  readonly closed: Promise<void>
  closedByServer = false

  private constructor (readonly socket: net.Socket) {
    socket.on('data', chunk => {
      this.data = Buffer.concat([this.data, chunk])
      for (let answer = this.split(); answer !== null; answer = this.split()) this.answers.push(answer)
      this.wake?.()
    })
    socket.on('error', () => {})
    this.closed = new Promise(resolve => socket.once('close', () => {
      this.closedByServer = true
      this.wake?.()
      resolve()
    }))
  }

  static async open (port: number, localAddress = '127.0.0.1'): Promise<RawConnection> {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress })
    await within(WAIT_MS, new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) }), `connect from ${localAddress}`)
    return new RawConnection(socket)
  }

  write (bytes: Buffer | string): void {
    this.socket.write(bytes)
  }

  /** The next whole answer, or null when the server closed before sending one. */
  async next (ms = WAIT_MS): Promise<Buffer | null> {
    await within(ms, (async () => {
      while (this.answers.length === 0 && !this.closedByServer) await new Promise<void>(resolve => { this.wake = resolve })
    })(), 'an answer or the server closing')
    return this.answers.shift() ?? null
  }

  /** Every answer until the server closes. */
  async rest (ms = WAIT_MS): Promise<Buffer[]> {
    await within(ms, this.closed, 'the server to close the connection')
    return this.answers.splice(0)
  }

  destroy (): void {
    this.socket.destroy()
  }

  private split (): Buffer | null {
    const end = this.data.indexOf('\r\n\r\n')
    if (end < 0) return null
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(this.data.subarray(0, end + 2).toString('latin1'))?.[1] ?? 0)
    if (this.data.length < end + 4 + length) return null
    const answer = this.data.subarray(0, end + 4 + length)
    this.data = this.data.subarray(end + 4 + length)
    return answer
  }
}
