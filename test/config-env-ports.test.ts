// HOMING_MQTT_PORT_<INSTANCE ID> moves an instance's MQTT listener from the environment (how the
// README walk-through test runs the demo config on free ports).
import t from 'tap'
import { parseConfig } from '../shared/config.js'

const raw = {
  regions: [{ id: 'cn-shanghai', name: 'Shanghai', lat: 31.23, lon: 121.47 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'token-of-the-env-ports-test' }],
  instances: [
    { id: 'iot-sh-1', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port: 11883 }, listen: { host: '127.0.0.1', mqtt: 11883 } },
    { id: 'iot-lb', region: 'cn-shanghai', account: 'acme', endpoint: { host: 'mqtt.example.com', port: 1883 }, listen: { host: '0.0.0.0', mqtt: 2883 } }
  ]
}

t.test('the listener moves, and the endpoint with it when devices reach the node directly', async t => {
  const config = parseConfig(raw, { HOMING_MQTT_PORT_IOT_SH_1: '21883', HOMING_MQTT_PORT_IOT_LB: '3883' })
  const [sh, lb] = config.instances
  t.same([sh?.listen.mqtt, sh?.endpoint.port], [21883, 21883])
  t.same([lb?.listen.mqtt, lb?.endpoint.port], [3883, 1883], 'behind a load balancer, what devices are told stays')
})

t.test('without the variable nothing changes; a bad value is refused like one in the file', async t => {
  t.same(parseConfig(raw, {}).instances.map(i => [i.listen.mqtt, i.endpoint.port]), [[11883, 11883], [2883, 1883]])
  t.throws(() => parseConfig(raw, { HOMING_MQTT_PORT_IOT_SH_1: 'eleven' }), { name: 'ConfigError', message: /instances\[0\]\.listen\.mqtt/ })
})
