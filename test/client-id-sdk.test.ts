// docs/devices.md, "What the broker logs": the SDK family and version read from a clientId, as the
// accepted-CONNECT log line and homing_mqtt_device_connects_total{sdk} report them.
import t from 'tap'
import { parseClientId, sdkOf } from '../shared/client-id.js'

const cases: [clientId: string, sdk: string, version: string | undefined][] = [
  ['pk.dn|timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=3,signmethod=hmacsha256,ext=3,_conn=tcp_9a|', 'c', 'sdk-c-4.1.0'],
  ['pk&dn|securemode=2,signmethod=hmacsha1,timestamp=1,lan=C,_v=2.3.0|', 'c', '2.3.0'],
  ['pk&dn|securemode=2,signmethod=hmacsha1,ext=1,lan=Python,_v=1.2.12,timestamp=1|', 'python', '1.2.12'],
  ['pk.dn|securemode=3,signmethod=hmacsha256,timestamp=1,lan=Python,_v=paho-recipe-1.0|', 'python', 'paho-recipe-1.0'],
  ['pk&dn_aliyun-iot-device-sdk-js|securemode=3,signmethod=hmacsha1,timestamp=1,lan=JS,_v=1.2.8|', 'js', '1.2.8'],
  ['12345|securemode=3,signmethod=hmacsha1,timestamp=789|', 'other', undefined],
  [`x|_v=${'v'.repeat(500)}|`, 'other', 'v'.repeat(64)]
]

t.test('the SDK family is one of a small set; the version is bounded', async t => {
  for (const [clientId, sdk, version] of cases) {
    t.same(sdkOf(parseClientId(clientId)), { sdk, sdkVersion: version }, clientId.slice(0, 80))
  }
})
