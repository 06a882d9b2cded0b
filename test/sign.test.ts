// docs/protocol.md, "CONNECT authentication": the four signature vectors, recomputed with the project's own code from the clientId
// and username a device sends.
import t from 'tap'
import { parseIdentity } from '../shared/client-id.js'
import { safeEqual, sign, signContent, verify } from '../shared/sign.js'

const vectors = [
  {
    name: 'Link SDK C 4.x (hmacsha256, upper-case hex)',
    secret: 'secretC',
    clientId: 'pk.dn|timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=3,signmethod=hmacsha256,ext=3,_conn=tcp_9a|',
    username: 'dn&pk',
    content: 'clientIdpk.dndeviceNamednproductKeypktimestamp2524608000000',
    password: '2F5E6AC4FC058B8B9F5956F653A2E539C102C75B4E4B85BC6FDF20378FD5803E'
  },
  {
    name: 'Node SDK, newline form (hmacsha1)',
    secret: 'secretN',
    clientId: 'pk&dn_aliyun-iot-device-sdk-js|securemode=3,\n        signmethod=hmacsha1,\n        timestamp=1700000000000|',
    username: 'dn&pk',
    content: 'clientIdpk&dn_aliyun-iot-device-sdk-jsdeviceNamednproductKeypktimestamp1700000000000',
    password: 'a12640f792576332a5f9ee1423fe1ee7beba4064'
  },
  {
    name: "Alibaba's documentation example",
    secret: 'secret',
    clientId: '12345|securemode=3,signmethod=hmacsha1,timestamp=789|',
    username: 'device&pk',
    content: 'clientId12345deviceNamedeviceproductKeypktimestamp789',
    password: 'fafd82a3d602b37fb0fa8b7892f24a477f851a14'
  },
  {
    name: 'no signmethod and no timestamp: hmacmd5',
    secret: 'secretM',
    clientId: 'abc|securemode=3|',
    username: 'dn&pk',
    content: 'clientIdabcdeviceNamednproductKeypk',
    password: '727a763a00de6f9edd46418cee4b536b'
  }
]

for (const v of vectors) {
  t.test(`vector: ${v.name}`, async t => {
    const identity = parseIdentity(v.clientId, v.username)
    const fields = { clientId: identity.id, deviceName: identity.deviceName, productKey: identity.productKey, timestamp: identity.timestamp }
    t.equal(signContent(fields), v.content, 'sign content')
    t.equal(sign(v.secret, fields, identity.signMethod), v.password.toLowerCase(), 'password')
    t.ok(verify(v.secret, fields, identity.signMethod, v.password), 'verifies as sent')
    t.ok(verify(v.secret, fields, identity.signMethod, v.password.toUpperCase()), 'upper-case hex verifies')
    t.ok(verify(v.secret, fields, identity.signMethod, v.password.toLowerCase()), 'lower-case hex verifies')
    t.notOk(verify(`${v.secret}x`, fields, identity.signMethod, v.password), 'another secret does not')
    t.notOk(verify(v.secret, fields, identity.signMethod, v.password.slice(0, -1)), 'a truncated password does not')
    t.notOk(verify(v.secret, { ...fields, timestamp: '1' }, identity.signMethod, v.password), 'another timestamp does not')
  })
}

t.test('a timestamp far in the future or the past is signed like any other (never checked against a window)', async t => {
  for (const timestamp of ['2524608000000', '0', '1']) {
    const fields = { clientId: 'x', deviceName: 'dn', productKey: 'pk', timestamp }
    t.ok(verify('s', fields, 'hmacsha1', sign('s', fields, 'hmacsha1')))
  }
})

t.test('safeEqual compares secrets of any length', async t => {
  t.ok(safeEqual('token-a', 'token-a'))
  t.notOk(safeEqual('token-a', 'token-b'))
  t.notOk(safeEqual('token-a', 'token-a-longer'))
})
