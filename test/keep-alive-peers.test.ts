// Who gets a connection kept open (docs/operations.md, "Behind a load balancer"): the listed proxies
// by address or block, IPv4 peers of a dual-stack listener included, and requests that ask in words.
import t from 'tap'
import { asksToKeepOpen, proxyMatcher } from '../bootstrap/http/keep-alive.js'

t.test('a peer is a proxy only when listed, by address or CIDR block, IPv4 or IPv6', async t => {
  const isProxy = proxyMatcher(['10.0.4.0/24', '192.0.2.7', 'fd00:1::/32', '::1'])
  t.ok(isProxy('10.0.4.200'))
  t.ok(isProxy('::ffff:10.0.4.9'), 'an IPv4 peer as a dual-stack listener reports it')
  t.ok(isProxy('192.0.2.7'))
  t.ok(isProxy('fd00:1:2::5'))
  t.ok(isProxy('::1'))
  t.notOk(isProxy('10.0.5.1'), 'outside the block')
  t.notOk(isProxy('192.0.2.8'))
  t.notOk(isProxy('127.0.0.1'), 'loopback is not a proxy unless listed')
  t.notOk(isProxy(undefined), 'a socket already gone')
  t.notOk(proxyMatcher([])('10.0.4.1'), 'nothing listed, no proxy')
})

t.test('a request asks to be kept open only with a Connection header naming keep-alive', async t => {
  t.ok(asksToKeepOpen('keep-alive'))
  t.ok(asksToKeepOpen('Keep-Alive'))
  t.ok(asksToKeepOpen('TE, keep-alive'))
  t.notOk(asksToKeepOpen(undefined), 'no header, as the Link SDK sends: not asking')
  t.notOk(asksToKeepOpen('close'))
  t.notOk(asksToKeepOpen('keep-alive, close'), 'close wins')
  t.notOk(asksToKeepOpen('upgrade'))
})
