// A light raw MQTT device for fleet-sized tests: one TCP socket, packets built and parsed with
// mqtt-packet, no client library. It records when each thing/bootstrap/notify arrived and answers
// it with notify_reply, as the Link SDK does.
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import { messageId, notifyReplyPayload } from '../../shared/alink.js'
import { notifyReplyTopic, notifyTopic } from '../../shared/topics.js'
import type { Certificate } from '../../shared/types.js'
import { credentials } from './broker.js'
import { within, WAIT_MS } from './wait.js'

export interface LightDevice {
  deviceName: string
  /** When each notify arrived (ms since the epoch). */
  notifies: number[]
  closed: () => boolean
  end: () => void
}

/** Connects; resolves once CONNACK 0 came, rejects (bounded) otherwise. */
export async function lightDevice (port: number, cert: Certificate, options: { answer?: boolean } = {}): Promise<LightDevice> {
  const socket = net.connect(port, '127.0.0.1')
  const parser = mqttPacket.parser()
  const notifies: number[] = []
  let isClosed = false
  socket.on('error', () => {})
  socket.on('close', () => { isClosed = true })
  socket.on('data', chunk => parser.parse(chunk))
  const connack = new Promise<number>((resolve, reject) => {
    socket.on('close', () => reject(new Error(`${cert.deviceName}: closed before CONNACK`)))
    parser.on('packet', packet => {
      if (packet.cmd === 'connack') resolve(packet.returnCode ?? -1)
      if (packet.cmd === 'publish' && packet.topic === notifyTopic(cert.productKey, cert.deviceName)) {
        notifies.push(Date.now())
        if (options.answer === false) return
        const id = messageId(Buffer.from(packet.payload)) ?? ''
        socket.write(mqttPacket.generate({ cmd: 'publish', topic: notifyReplyTopic(cert.productKey, cert.deviceName), payload: notifyReplyPayload(id), qos: 0, retain: false, dup: false }))
      }
    })
  })
  const creds = credentials(cert)
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: creds.clientId, username: creds.username, password: Buffer.from(creds.password) }))
  const code = await within(WAIT_MS, connack, `CONNACK for ${cert.deviceName}`)
  if (code !== 0) {
    socket.destroy()
    throw new Error(`${cert.deviceName}: CONNACK ${code}`)
  }
  return { deviceName: cert.deviceName, notifies, closed: () => isClosed, end: () => socket.destroy() }
}

/** Connects many devices, `parallel` at a time, spread over `ports` in turn. */
export async function lightFleet (ports: number[], certs: Certificate[], parallel = 100): Promise<LightDevice[]> {
  const out: LightDevice[] = []
  for (let i = 0; i < certs.length; i += parallel) {
    out.push(...await Promise.all(certs.slice(i, i + parallel).map((cert, j) => lightDevice(ports[(i + j) % ports.length] as number, cert))))
  }
  return out
}
