// docs/protocol.md, "CONNECT authentication": the device library signs CONNECT exactly as the SDKs do, and the broker side's parser reads it back.
import t from 'tap'
import { credentials, LINK_SDK_TIMESTAMP } from '../device/credentials.js'
import { parseIdentity } from '../shared/client-id.js'
import { verify } from '../shared/sign.js'

t.test('the Link SDK for C form reproduces vector 1 byte for byte', async t => {
  const c = credentials({ productKey: 'pk', deviceName: 'dn', deviceSecret: 'secretC' }, { conn: 'tcp_9a' })
  t.equal(c.clientId, 'pk.dn|timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=3,signmethod=hmacsha256,ext=3,_conn=tcp_9a|')
  t.equal(c.username, 'dn&pk')
  t.equal(c.password, '2F5E6AC4FC058B8B9F5956F653A2E539C102C75B4E4B85BC6FDF20378FD5803E')
})

t.test('the C SDK form keeps its fixed year-2050 timestamp and varies _conn per connection', async t => {
  const cert = { productKey: 'a1pk', deviceName: 'dev1', deviceSecret: 's' }
  const ids = new Set(Array.from({ length: 40 }, () => credentials(cert).clientId))
  t.ok(ids.size > 1, 'a fresh _conn value per connection')
  for (const id of ids) t.match(id, `timestamp=${LINK_SDK_TIMESTAMP},`)
})

t.test('the Node SDK form signs with hmacsha1 in lower case', async t => {
  const c = credentials({ productKey: 'pk', deviceName: 'dn', deviceSecret: 'secretN' }, { form: 'node-sdk', timestamp: '1700000000000' })
  t.equal(c.clientId, 'pk&dn_aliyun-iot-device-sdk-js|securemode=3,signmethod=hmacsha1,timestamp=1700000000000,lan=JS,_v=1.2.8|')
  t.equal(c.password, 'a12640f792576332a5f9ee1423fe1ee7beba4064')
})

t.test("Alibaba's documented form reproduces vector 3", async t => {
  const c = credentials({ productKey: 'pk', deviceName: 'device', deviceSecret: 'secret' }, { form: 'doc', id: '12345', timestamp: '789' })
  t.equal(c.clientId, '12345|securemode=3,signmethod=hmacsha1,timestamp=789|')
  t.equal(c.password, 'fafd82a3d602b37fb0fa8b7892f24a477f851a14')
})

t.test('every form and sign method verifies against the shared parser, TLS forms say securemode=2', async t => {
  const cert = { productKey: 'a1B2c3', deviceName: 'dev-01', deviceSecret: 'a'.repeat(32) }
  for (const form of ['link-sdk-c', 'node-sdk', 'doc'] as const) {
    for (const signMethod of ['hmacmd5', 'hmacsha1', 'hmacsha256'] as const) {
      const c = credentials(cert, { form, signMethod, secureMode: 2 })
      const id = parseIdentity(c.clientId, c.username)
      t.equal(id.signMethod, signMethod, `${form} ${signMethod}`)
      t.equal(id.secureMode, '2')
      t.ok(verify(cert.deviceSecret, { clientId: id.id, deviceName: id.deviceName, productKey: id.productKey, timestamp: id.timestamp }, id.signMethod, c.password), `${form} ${signMethod} verifies`)
      t.notOk(verify('b'.repeat(32), { clientId: id.id, deviceName: id.deviceName, productKey: id.productKey, timestamp: id.timestamp }, id.signMethod, c.password), 'not with another secret')
    }
  }
})
