// The re-homing generator's source addresses (bench/loopback-sources.ts): the least used of a /24,
// counted from the kernel's socket table.
import t from 'tap'
import { quietSources, socketsByLocalAddress } from '../bench/loopback-sources.js'

// /proc/net/tcp's form: the local address is a little-endian hex word (127.0.12.1 = 010C007F).
const TABLE = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 010C007F:9C41 0100007F:1F90 06 00000000:00000000 03:00000A4B 00000000     0        0 0 3 0000000000000000',
  '   1: 010C007F:9C43 0100007F:1F90 06 00000000:00000000 03:00000A4B 00000000     0        0 0 3 0000000000000000',
  '   2: 020C007F:9C45 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000',
  '   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000',
  ''
].join('\n')

t.test('sockets are counted per local address, TIME_WAIT ones included', async t => {
  const counts = socketsByLocalAddress(TABLE)
  t.equal(counts.get('127.0.12.1'), 2)
  t.equal(counts.get('127.0.12.2'), 1)
  t.equal(counts.get('127.0.0.1'), 1)
})

t.test('the quietest addresses of the prefix come first, in address order among equals', async t => {
  t.same(quietSources(3, '127.0.12.', TABLE), ['127.0.12.3', '127.0.12.4', '127.0.12.5'])
  const busy = quietSources(254, '127.0.12.', TABLE)
  t.same(busy.slice(-2), ['127.0.12.2', '127.0.12.1'], 'the most used last')
  t.equal(new Set(busy).size, 254)
})

t.test('an unreadable table is an empty one', async t => {
  t.same([...socketsByLocalAddress('')], [])
  t.same(quietSources(2, '127.0.12.', ''), ['127.0.12.1', '127.0.12.2'])
})
