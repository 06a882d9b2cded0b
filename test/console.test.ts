// The operator console (/console) in a real browser: headless Chromium (Debian's `chromium`) driven by
// playwright-core, through the whole loop: sign in, create a product and devices, preview and start a
// job that moves live devices at a set rate, watch its progress reach the end and the moved devices
// settle, open a device's timeline, download
// the records; the instances page's world map (land outline, regions, a placed device) and its chart
// of connections over time (from the broker nodes' samples: the devices' move shows as a drop and a rise). The console calls only /api/v1; the page logs no error and runs no inline script.
// HOMING_SCREENSHOTS=docs writes the pages' screenshots into docs/ (the README shows one).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import { parseConfig } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { MemoryStore } from '../shared/store/memory.js'
import type { Certificate } from '../shared/types.js'
import { connectDevice } from './helpers/broker.js'
import { FRANKFURT, SHANGHAI } from './helpers/regions.js'
import { startTestSidecar } from './helpers/test-sidecar.js'
import { eventually, within } from './helpers/wait.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const TOKEN = 'console-token-0123456789abcdef'
const BUILT = join(import.meta.dirname, '..', 'dist', 'console', 'index.html')
const SHOTS = process.env.HOMING_SCREENSHOTS === 'docs' ? join(import.meta.dirname, '..', 'docs') : null
const STEP_MS = 15_000

if (!existsSync(CHROMIUM)) {
  t.test('the console in a real browser', { skip: `no Chromium at ${CHROMIUM}: install Debian's "chromium" package (.ci/run does) to run the console test` }, () => {})
} else if (!existsSync(BUILT)) {
  t.fail(`the console is not built (${BUILT} is missing): run npm run build`)
} else {
  await run()
}

interface History { points: { at: number, connections: number | null }[] }
const newest = (h: History): number | null => h.points.at(-1)?.connections ?? null

async function run (): Promise<void> {
  const config = parseConfig({
    bootstrap: { host: '127.0.0.1', port: 0 },
    // Connection samples every half second, so that the chart has history within the test.
    broker: { notifyTimeoutMs: 500, connectionSampleMs: 500 },
    regions: [SHANGHAI, FRANKFURT],
    accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKEN }],
    instances: [
      { id: 'iot-sh', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port: 1 }, listen: { host: '127.0.0.1', mqtt: 0 } },
      { id: 'iot-de', region: 'eu-central-1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1 }, listen: { host: '127.0.0.1', mqtt: 0 } }
    ]
  })
  const store = new MemoryStore()
  const sidecar = await startTestSidecar(store, config, { jobs: true })
  const sh = await startBrokerNode({ config, instanceId: 'iot-sh', store, nodeId: 'console-sh' })
  const de = await startBrokerNode({ config, instanceId: 'iot-de', store, nodeId: 'console-de' })
  const clients: MqttClient[] = []
  const history = async (instanceId: string): Promise<History> => {
    const res = await fetch(`${sidecar.url}/api/v1/instances/${instanceId}/connections?minutes=60`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    return await res.json() as History
  }
  const downloads = mkdtempSync(join(tmpdir(), 'homing-downloads-'))
  // A fresh profile in a temporary folder each run (playwright's own; it refuses --user-data-dir here).
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(async () => {
    await browser.close()
    for (const c of clients) c.end(true)
    await sh.close()
    await de.close()
    await sidecar.close()
    rmSync(downloads, { recursive: true, force: true })
  })

  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } })
  context.setDefaultTimeout(STEP_MS)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', msg => { if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`) })
  page.on('pageerror', err => problems.push(`page error: ${err.message}`))
  const requests: string[] = []
  page.on('request', req => requests.push(req.url()))
  const shoot = async (name: string, fullPage = false): Promise<void> => { if (SHOTS !== null) await page.screenshot({ path: join(SHOTS, name), fullPage }) }

  t.test('the console is served with a CSP that allows only its own script', async t => {
    const res = await fetch(`${sidecar.url}/console/`)
    t.equal(res.status, 200)
    const csp = res.headers.get('content-security-policy') ?? ''
    t.match(csp, /script-src 'self'(;|$)/)
    t.notMatch(csp, /unsafe-inline|unsafe-eval/)
    t.notMatch(await res.text(), /<script>|<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in the page')
    t.equal((await fetch(`${sidecar.url}/console`, { redirect: 'manual' })).headers.get('location'), '/console/')
    t.equal((await fetch(`${sidecar.url}/console/nope.js`)).status, 404)
  })

  t.test('sign in with the token, by keyboard', async t => {
    await page.goto(`${sidecar.url}/console/`)
    await page.getByLabel('API token').fill('wrong-token-000000000000')
    await page.keyboard.press('Enter')
    await page.getByRole('alert').filter({ hasText: 'invalid token' }).waitFor()
    await shoot('console-signin.png')
    // The browser itself logs the refused request; that one is expected, nothing else.
    t.same(problems.splice(0), ['console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)'])
    await page.getByLabel('API token').fill(TOKEN)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Instances' }).waitFor()
    t.equal(await page.evaluate(() => sessionStorage.getItem('homing.token')), TOKEN, 'the token is kept in the session storage')
    t.equal(await page.evaluate(() => localStorage.length), 0, 'and nowhere that outlives the session')
    t.equal(await page.locator('tr[data-instance="iot-sh"] td.count').textContent(), '0 / 0')
    t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Instances', 'a new page puts the focus on its heading')
    await page.keyboard.press('Shift+Tab')
    t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Sign out', 'the controls are reachable with the keyboard')
    await page.getByRole('link', { name: 'Codes inbox' }).focus()
    await page.keyboard.press('Enter')
    await page.getByText('No pending codes.').waitFor()
    t.pass('a link followed with Enter opens its page')
    await page.getByRole('link', { name: 'Instances' }).click()
  })

  let certs: Certificate[] = []
  t.test('create a product and its devices', async t => {
    await page.getByRole('link', { name: 'Products' }).click()
    const product = page.getByRole('form', { name: 'New product' })
    await product.getByLabel('Instance').selectOption('iot-sh')
    await product.getByLabel('Name').fill('Lamp')
    await product.getByLabel('Product key (optional)').fill('a1consoleLamp')
    await product.getByRole('button', { name: 'Create product' }).click()
    await product.getByRole('status').filter({ hasText: 'Product a1consoleLamp created at iot-sh' }).waitFor()
    const devices = page.getByRole('form', { name: 'New devices' })
    await devices.getByLabel('Product').selectOption('a1consoleLamp@iot-sh')
    await devices.getByLabel('Device names').fill('lamp-0001\nlamp-0002\nlamp-0003')
    await devices.getByRole('button', { name: 'Create devices' }).click()
    const table = devices.getByRole('table', { name: 'Certificates' })
    await table.waitFor()
    const rows = await table.locator('tbody tr').allTextContents()
    t.equal(rows.length, 3, 'three certificates are shown')
    certs = await Promise.all(['lamp-0001', 'lamp-0002', 'lamp-0003'].map(async deviceName => ({
      productKey: 'a1consoleLamp', deviceName, deviceSecret: (await table.locator('tr', { hasText: deviceName }).locator('code').textContent()) ?? ''
    })))
    t.ok(certs.every(c => /^[0-9a-f]{32}$/i.test(c.deviceSecret) || c.deviceSecret.length >= 16), 'the secrets are read from the page')
    await shoot('console-products.png')
  })

  t.test('two devices go online at iot-sh; the instances page counts them', async t => {
    // lamp-0001 asks the bootstrap first, as a device does: its timeline shows from where and where it was sent.
    const bootstrap = await fetch(`${sidecar.url}/auth/bootstrap`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'productKey=a1consoleLamp&deviceName=lamp-0001' })
    t.equal(bootstrap.status, 200, 'lamp-0001 bootstrapped')
    for (const cert of certs.slice(0, 2)) clients.push(await online(cert, sh.ports.mqtt, de.ports.mqtt))
    await page.getByRole('link', { name: 'Instances' }).click()
    await page.locator('tr[data-instance="iot-sh"] td.count', { hasText: '2 / 3' }).waitFor()
    t.pass('iot-sh: 2 online of 3')
    // The chart reads the history the broker nodes write: wait until it has the two connections, then open the page afresh.
    await eventually(async () => newest(await history('iot-sh')) === 2, 'the iot-sh history to show 2 connections', { ms: STEP_MS })
    await page.getByRole('link', { name: 'Products' }).click()
    await page.getByRole('link', { name: 'Instances' }).click()
    await page.locator('[data-legend="iot-sh"] strong', { hasText: '2' }).waitFor()
    t.ok(await page.getByRole('img', { name: 'Connections per instance over time' }).isVisible(), 'the connections chart is drawn')
    t.ok(await page.locator('polyline[data-instance="iot-sh"]').count() > 0, 'iot-sh has a line')
    t.match(await page.locator('[data-legend="iot-sh"]').textContent(), 'iot-sh: 2 now, 1 node reporting', 'the legend says what the history says')
    const map = page.getByRole('group', { name: 'Map of the regions' })
    t.ok(await map.isVisible(), 'the map of the regions is drawn')
    t.ok(((await map.locator('path[data-outline="land"]').getAttribute('d')) ?? '').length > 10_000, 'with the outline of the land')
    const shanghai = map.locator('g[data-region="cn-shanghai"]')
    t.match(await shanghai.getAttribute('aria-label'), 'China (Shanghai), cn-shanghai: 2 of 3 online')
    const [x, y] = await shanghai.locator('circle').first().evaluate(c => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))])
    const [width, height] = await map.evaluate(svg => [(svg as SVGSVGElement).viewBox.baseVal.width, (svg as SVGSVGElement).viewBox.baseVal.height])
    t.ok((x ?? 0) > (width ?? 0) * 0.75 && (y ?? 0) < (height ?? 0) * 0.5, `Shanghai is in the east of the northern half (${x}, ${y})`)
    await shanghai.focus()
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-region')), 'eu-central-1', 'Tab goes from region to region')
    t.match(await map.locator('xpath=..').locator('figcaption').textContent(), 'Germany (Frankfurt), eu-central-1: 0 of 0 online', 'the focused region\'s numbers are shown')
    await page.getByRole('link', { name: 'Devices' }).click()
    // The server filters: wait for the page it answers.
    const rows = async (n: number): Promise<void> => { await page.waitForFunction(count => document.querySelectorAll('tr[data-device]').length === count, n) }
    await page.getByLabel('Status').selectOption('online')
    await rows(2)
    t.equal(await page.locator('tr[data-device]').count(), 2, 'the status filter shows the two online devices')
    await page.getByLabel('Status').selectOption('')
    await page.getByLabel('Name starts with').fill('lamp-0003')
    await rows(1)
    t.same(await page.locator('tr[data-device]').evaluateAll(rows => rows.map(r => r.getAttribute('data-device'))), ['lamp-0003'], 'search by name')
    await page.getByLabel('Name starts with').fill('')
    const tagged = await fetch(`${sidecar.url}/api/v1/products/a1consoleLamp/devices/lamp-0002/tags`, { method: 'PUT', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ room: 'kitchen' }) })
    t.equal(tagged.status, 200, 'lamp-0002 tagged room=kitchen')
    await page.getByLabel('Tag').fill('room=kitchen')
    await rows(1)
    t.same(await page.locator('tr[data-device]').evaluateAll(rows => rows.map(r => r.getAttribute('data-device'))), ['lamp-0002'], 'filter by tag')
    await page.getByLabel('Tag').fill('')
    await rows(3)
    await shoot('console-devices.png')
  })

  let jobUrl = ''
  t.test('preview a paced job, then start it and watch it reach the end and settle', async t => {
    await page.getByRole('link', { name: 'Distribute' }).click()
    const form = page.getByRole('form', { name: 'Distribution job' })
    await form.getByLabel('Source instance').selectOption('iot-sh')
    await form.locator('select[name="productKey"]').selectOption('a1consoleLamp')
    await form.getByLabel('Target instance').selectOption('iot-de')
    await form.getByLabel('Device names, one per line').fill('lamp-0001\nlamp-0002\nlamp-0003\nghost-0001')
    // By keyboard: Tab from the devices' CSV field to the pace fields.
    await form.getByLabel('…or a CSV file (productKey,deviceName)').focus()
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'rate', 'the rate field follows the devices')
    await page.keyboard.type('2')
    await form.getByLabel('Settle timeout (seconds)').fill('30')
    const bodies: string[] = []
    const watchBodies = (req: { url: () => string, method: () => string, postData: () => string | null }): void => { if (req.method() === 'POST' && req.url().includes('/distribution/jobs')) bodies.push(req.postData() ?? '') }
    page.on('request', watchBodies)
    t.ok(await form.getByRole('button', { name: 'Start job' }).isDisabled(), 'a job starts only after its preview')
    await form.getByRole('button', { name: 'Preview' }).click()
    const preview = page.getByRole('table', { name: 'Preview' })
    await preview.waitFor()
    t.match(await page.getByRole('heading', { name: /^Preview/ }).textContent(), 'Preview: 3 of 4 devices will move, 1 refused')
    t.match(await preview.locator('tr', { hasText: 'lamp-0001' }).textContent(), '→ iot-de (online: will be notified and moved)')
    t.match(await preview.locator('tr', { hasText: 'ghost-0001' }).textContent(), 'refused: device_not_found')
    t.equal((await store.listJobs({ accountId: 'acme', offset: 0, limit: 10 })).total, 0, 'the preview stored no job')
    await shoot('console-preview.png')
    await form.getByRole('button', { name: 'Start job' }).click()
    await page.getByRole('heading', { name: /^Job j/ }).waitFor()
    page.off('request', watchBodies)
    jobUrl = page.url()
    t.equal(bodies.length, 2, 'the preview and the job were posted')
    for (const body of bodies) t.match(JSON.parse(body), { rate: 2, settleTimeoutSeconds: 30 }, 'the pace goes with the preview and with the job')
    t.notOk(bodies.some(b => b.includes('waveSize')), 'an empty field is left out')
    const facts = page.locator('dl.facts')
    await facts.locator('dd', { hasText: 'at most 2 per second' }).waitFor()
    t.pass('the job view shows the pace')
    const bar = (label: string) => page.locator(`[role="progressbar"][data-label="${label}"]`)
    await bar('moved').and(page.locator('[aria-valuenow="3"]')).waitFor()
    await bar('notified').and(page.locator('[aria-valuenow="2"]')).waitFor()
    await bar('reconnected').and(page.locator('[aria-valuenow="2"]')).waitFor({ timeout: 15_000 })
    await bar('failed').and(page.locator('[aria-valuenow="1"]')).waitFor()
    await page.locator('.badge-distributed').first().waitFor()
    t.pass('moved 3, notified 2, reconnected 2, failed 1: the job is distributed')
    await facts.locator('dd .badge-settled').waitFor()
    t.match(await facts.locator('dd', { has: page.locator('.badge-settled') }).textContent(), 'settled 2 of 2 back, 0 away (timeout 30 s)', 'the two online devices are back: settled')
    const job = await store.getJob(jobUrl.replace(/^.*\//, ''))
    t.match(job?.pace, { rate: 2, settleTimeoutSeconds: 30 }, 'the job was stored with the pace from the form')
    await page.getByText('(watching)').waitFor({ state: 'detached' })
    t.pass('the page stops polling once nothing is left to watch')
    await shoot('console-job.png')
  })

  t.test('download the records', async t => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download records (CSV)' }).click()])
    const file = join(downloads, download.suggestedFilename())
    await download.saveAs(file)
    t.match(download.suggestedFilename(), /^j[0-9a-z]+-records\.csv$/)
    const csv = readFileSync(file, 'utf8').trim().split('\n')
    t.equal(csv[0], 'productKey,deviceName,code,message')
    t.match(csv[1], /^a1consoleLamp,lamp-0001,success,moved to iot-de; online; notified; answered; disconnected$/)
    t.match(csv[3], /^a1consoleLamp,lamp-0003,success,moved to iot-de; offline$/)
    t.match(csv[4], /^a1consoleLamp,ghost-0001,device_not_found,/)
  })

  t.test('a device\'s page: its timeline, its certificate on request', async t => {
    await page.getByRole('table', { name: 'Records' }).getByRole('link', { name: 'lamp-0001' }).click()
    const timeline = page.getByRole('list', { name: 'Timeline' })
    await timeline.locator('li[data-kind="connected"]', { hasText: 'connected at iot-de from 127.0.0.1' }).waitFor()
    const items = await timeline.locator('li').allTextContents()
    const story = items.join(' | ')
    t.match(items[0], /created at iot-sh/)
    t.match(items[1], /bootstrapped from 127\.0\.0\.1, sent to iot-sh \(cn-shanghai, 127\.0\.0\.1:1\)/, `the bootstrap, from which address and where it was sent: ${story}`)
    t.match(items[2], /connected at iot-sh from 127\.0\.0\.1 \(mqtt, node console-sh\)/, 'the first connection')
    const moved = items.findIndex(i => /moved from iot-sh to iot-de by job j[0-9a-z]+/.test(i))
    t.ok(moved > 2, `then the job moved it: ${story}`)
    t.match(items.slice(moved + 1).join(' | '), /notified at iot-sh that it moved.*answered the notify at iot-sh.*disconnected from iot-sh: moved away.*connected at iot-de from 127\.0\.0\.1/, 'notified, answered, kicked, back at iot-de')
    await page.getByRole('button', { name: 'Show certificate' }).click()
    t.equal(await page.getByLabel('Device secret').textContent(), certs[0]?.deviceSecret)
    await shoot('console-device.png')
  })

  t.test('the chart shows the move: iot-sh drops from 2 to 0, iot-de rises to 2', async t => {
    await eventually(async () => newest(await history('iot-sh')) === 0 && newest(await history('iot-de')) === 2, 'the histories to show the devices at iot-de', { ms: STEP_MS })
    await page.getByRole('link', { name: 'Instances' }).click()
    await page.getByLabel('Window').selectOption('15')
    await page.locator('[data-legend="iot-sh"] strong', { hasText: '0' }).waitFor()
    await page.locator('[data-legend="iot-de"] strong', { hasText: '2' }).waitFor()
    // The heights of iot-sh's line: the peak of 2 and the drop to 0 after it.
    const heights = await page.locator('polyline[data-instance="iot-sh"]').evaluateAll(lines => lines.flatMap(l => (l.getAttribute('points') ?? '').split(' ').map(p => Number(p.split(',')[1]))))
    const top = Math.min(...heights)
    const bottom = Math.max(...heights)
    t.ok(top < bottom, 'iot-sh\'s line has a peak and a drop')
    t.equal(heights.at(-1), bottom, 'and ends at the bottom')
    t.ok(heights.indexOf(top) < heights.lastIndexOf(bottom), 'the drop comes after the peak')
  })

  t.test('the job list and the codes inbox', async t => {
    await page.getByRole('link', { name: 'Jobs' }).click()
    await page.getByRole('table', { name: 'Jobs' }).getByRole('link', { name: /^j[0-9a-z]+$/ }).waitFor()
    t.equal(await page.getByRole('table', { name: 'Jobs' }).locator('tbody tr').count(), 1, 'the job is listed')
    t.match(await page.getByRole('table', { name: 'Jobs' }).locator('td[data-settling="settled"]').textContent(), 'settled 2 of 2 back', 'with its settling state')
    await page.getByRole('link', { name: 'Codes inbox' }).click()
    await page.getByText('No pending codes.').waitFor()
    t.pass('the inbox lists no code')
    await page.goto(jobUrl)
    await page.getByRole('heading', { name: /^Job j/ }).waitFor()
  })

  t.test('a job whose moved devices do not come back times out and names its stragglers', async t => {
    // lamp-0004: online at iot-sh, and once kicked it does not come back.
    const res = await fetch(`${sidecar.url}/api/v1/products/a1consoleLamp/devices`, {
      method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ instanceId: 'iot-sh', deviceNames: ['lamp-0004'] })
    })
    t.equal(res.status, 201, 'lamp-0004 is created')
    const { certificates } = await res.json() as { certificates: { deviceName: string, deviceSecret: string }[] }
    clients.push(await connectDevice(sh.ports.mqtt, { productKey: 'a1consoleLamp', deviceName: 'lamp-0004', deviceSecret: certificates[0]?.deviceSecret ?? '' }, { reconnectPeriod: 0 }))
    await page.getByRole('link', { name: 'Distribute' }).click()
    const form = page.getByRole('form', { name: 'Distribution job' })
    await form.getByLabel('Source instance').selectOption('iot-sh')
    await form.locator('select[name="productKey"]').selectOption('a1consoleLamp')
    await form.getByLabel('Target instance').selectOption('iot-de')
    await form.getByLabel('Device names, one per line').fill('lamp-0004')
    await form.getByLabel('Settle timeout (seconds)').fill('0')
    await form.getByRole('button', { name: 'Preview' }).click()
    await page.getByRole('table', { name: 'Preview' }).waitFor()
    await form.getByRole('button', { name: 'Start job' }).click()
    await page.getByRole('heading', { name: /^Job j/ }).waitFor()
    const facts = page.locator('dl.facts')
    await facts.locator('dd .badge-timed-out').waitFor()
    t.match(await facts.locator('dd', { has: page.locator('.badge-timed-out') }).textContent(), 'timed-out 0 of 1 back, 1 away (timeout 0 s)')
    await facts.locator('dd', { hasText: 'as fast as it can' }).waitFor()
    t.pass('an unpaced job moves as fast as it can')
    t.same(await page.getByRole('list', { name: 'Stragglers' }).locator('li').allTextContents(), ['lamp-0004'], 'the straggler is listed')
    await page.getByRole('link', { name: 'Jobs', exact: true }).click()
    await page.locator('td[data-settling="timed-out"]').waitFor()
    t.equal(await page.getByRole('table', { name: 'Jobs' }).locator('td[data-settling]').count(), 2, 'both jobs show their settling state in the list')
  })

  t.test('the map shows a device placed by nearest access and the region it was created in', async t => {
    // lamp-0005, created at iot-sh, placed in Frankfurt as the sidecar places a device at its first bootstrap.
    t.same(await store.createDevices([newDevice('a1consoleLamp', 'lamp-0005', 'iot-sh')]), [])
    await store.setCandidates('a1consoleLamp', 'lamp-0005', { from: 'iot-sh', candidates: [{ region: 'cn-shanghai', instanceId: 'iot-sh' }, { region: 'eu-central-1', instanceId: 'iot-de' }], jobId: 'jPlaced' })
    const placed = await store.place('a1consoleLamp', 'lamp-0005', { instanceId: 'iot-de', region: 'eu-central-1', fallback: false, address: '192.0.2.7', at: Date.now() })
    t.equal(placed.result, 'placed')
    await page.getByRole('link', { name: 'Instances' }).click()
    await page.locator('tr[data-region="eu-central-1"] td.count', { hasText: /^1$/ }).waitFor()
    const map = page.getByRole('group', { name: 'Map of the regions' })
    t.match(await map.locator('g[data-region="eu-central-1"]').getAttribute('aria-label'), '1 placed by nearest access', 'the region says how many were placed there')
    t.equal(await map.locator('g[data-region="eu-central-1"] circle.map-placed').count(), 1, 'and shows them')
    t.equal(await map.locator('path.map-flow').count(), 1, 'one line from where it was created to where it was placed')
    t.equal(await map.locator('path.map-flow title').textContent(), '1 created at cn-shanghai, placed in eu-central-1')
    await page.getByLabel('Window').selectOption('15')
    await page.locator('[data-legend="iot-de"] strong').waitFor()
    await shoot('console-instances.png', true)
  })

  t.test('no errors in the page, nothing fetched from elsewhere, no inline script runs', async t => {
    t.same(problems, [], 'no console errors or warnings')
    const origin = new URL(sidecar.url).origin
    t.same(requests.filter(u => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:')), [], 'every request goes to the sidecar')
    t.same([...new Set(requests.filter(u => u.startsWith(`${origin}/`) && !u.startsWith(`${origin}/console/`)).map(u => new URL(u).pathname.split('/').slice(0, 3).join('/')))], ['/api/v1'], 'the console calls only /api/v1')
    await t.rejects(page.addScriptTag({ content: 'window.inlineRan = true' }), 'an inline script is refused')
    t.equal(await page.evaluate(() => (window as unknown as { inlineRan?: boolean }).inlineRan), undefined, 'and does not run')
  })
}

/** A device online at `from` that answers the notify, then, once kicked, comes back at `to`. */
async function online (cert: Certificate, from: number, to: number): Promise<MqttClient> {
  const client = await connectDevice(from, cert, { reconnectPeriod: 0 })
  const notify = `/sys/${cert.productKey}/${cert.deviceName}/thing/bootstrap/notify`
  await within(5000, client.subscribeAsync(notify, { qos: 1 }), 'the notify subscription')
  client.on('message', (topic, payload) => {
    if (topic === notify) client.publish(`${notify}_reply`, notifyReplyPayload(messageId(payload) ?? ''), { qos: 0 })
  })
  client.once('close', () => {
    connectDevice(to, cert, { reconnectPeriod: 0 }).then(c => { extra.push(c) }, () => {})
  })
  return client
}
const extra: MqttClient[] = []
t.teardown(() => { for (const c of extra) c.end(true) })
