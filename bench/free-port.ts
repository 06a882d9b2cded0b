// A port nobody listens on right now, for configs that must name their ports before they start
// (tests and benchmarks).
import net from 'node:net'

export async function freePort (host = '127.0.0.1'): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, host, resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}
