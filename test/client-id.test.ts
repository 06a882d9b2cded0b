// docs/protocol.md, "CONNECT authentication": the clientId and username forms devices send, and the malformed ones that get CONNACK 2.
import t, { type Test } from 'tap'
import { IdentityError, parseClientId, parseIdentity, parseUsername } from '../shared/client-id.js'

/** Passes when `fn` throws an IdentityError (the broker's CONNACK 2). */
function identityError (t: Test, fn: () => unknown, message: string): void {
  try {
    fn()
    t.fail(`${message}: accepted`)
  } catch (err) {
    t.ok(err instanceof IdentityError, message)
  }
}

t.test('Link SDK C 4.x clientId', async t => {
  const id = parseIdentity('pk.dn|timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=3,signmethod=hmacsha256,ext=3,_conn=tcp_9a|', 'dn&pk')
  t.equal(id.id, 'pk.dn')
  t.equal(id.signMethod, 'hmacsha256')
  t.equal(id.timestamp, '2524608000000')
  t.equal(id.secureMode, '3')
  t.same(id.params, { timestamp: '2524608000000', _ss: '1', _v: 'sdk-c-4.1.0', securemode: '3', signmethod: 'hmacsha256', ext: '3', _conn: 'tcp_9a' })
  t.equal(id.productKey, 'pk')
  t.equal(id.deviceName, 'dn')
})

t.test('Node SDK 1.2.x newline form: white space and newlines around the id, keys and values', async t => {
  const clientId = '\n        pk&dn_aliyun-iot-device-sdk-js|securemode=3,\n        signmethod=hmacsha1,\n        timestamp=1700000000000|\n      '
  const id = parseIdentity(clientId, 'dn&pk')
  t.equal(id.id, 'pk&dn_aliyun-iot-device-sdk-js')
  t.equal(id.signMethod, 'hmacsha1')
  t.equal(id.timestamp, '1700000000000')
  t.equal(id.secureMode, '3')
})

t.test('Node SDK one-line form with lan and _v', async t => {
  const id = parseIdentity('pk&dn_aliyun-iot-device-sdk-js|securemode=3,signmethod=hmacsha1,timestamp=1700000000000,lan=JS,_v=1.2.8|', 'dn&pk')
  t.equal(id.id, 'pk&dn_aliyun-iot-device-sdk-js')
  t.equal(id.params.lan, 'JS')
  t.equal(id.params._v, '1.2.8')
})

t.test('an empty id (the clientId starts with "|") is accepted', async t => {
  const id = parseIdentity('|securemode=3,signmethod=hmacsha1,timestamp=789|', 'dn&pk')
  t.equal(id.id, '')
  t.equal(id.timestamp, '789')
})

t.test('unknown keys are kept and ignored; authType and lan pass', async t => {
  const id = parseIdentity('abc|securemode=3,authType=id2,lan=C,whatever=1,x-y=z|', 'dn&pk')
  t.equal(id.params.whatever, '1')
  t.equal(id.params.authType, 'id2')
  t.equal(id.signMethod, 'hmacmd5', 'no signmethod: hmacmd5')
  t.equal(id.timestamp, undefined, 'no timestamp: left out')
})

t.test('trailing white space after the last "|" and around entries is ignored', async t => {
  const id = parseIdentity('  abc  |  securemode = 3 , signmethod = hmacsha1 ,, timestamp = 5 |  \r\n', 'dn&pk')
  t.equal(id.id, 'abc')
  t.equal(id.signMethod, 'hmacsha1')
  t.equal(id.timestamp, '5')
  t.equal(id.secureMode, '3')
})

t.test('signmethod is matched case-insensitively', async t => {
  t.equal(parseIdentity('a|signmethod=HmacSHA256|', 'dn&pk').signMethod, 'hmacsha256')
})

t.test('the username splits at its last "&" (a productKey never holds one)', async t => {
  t.same(parseUsername('dev&1&pk'), { deviceName: 'dev&1', productKey: 'pk' })
  t.same(parseUsername(' dn & pk '), { deviceName: 'dn', productKey: 'pk' })
})

t.test('malformed clientIds are errors', async t => {
  const bad = [
    '',
    'pk.dn',
    'pk.dn|securemode=3',
    'pk.dn|securemode=3|trailing',
    'pk.dn|securemode|',
    'pk.dn|=3|',
    'pk.dn|securemode=3|x|y'
  ]
  for (const clientId of bad) {
    identityError(t, () => parseClientId(clientId), JSON.stringify(clientId))
  }
  identityError(t, () => parseIdentity('a|signmethod=hmacsha512|', 'dn&pk'), 'unknown signmethod')
})

t.test('malformed usernames are errors', async t => {
  for (const username of ['', 'dnpk', '&pk', 'dn&', ' & ']) {
    identityError(t, () => parseUsername(username), JSON.stringify(username))
  }
})

t.test('a "|" inside the key list is part of a value, the last "|" closes it', async t => {
  // Between the first and the last "|": everything is the key list.
  const { params } = parseClientId('id|a=1|b=2|')
  t.equal(params.a, '1|b=2')
})
