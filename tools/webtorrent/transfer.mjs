// A real WebTorrent transfer: two browsers move a file over WebRTC, finding each other
// only through a WebSocket tracker.
//
//   node transfer.mjs [--tracker bittorrent-tracker | ws://HOST:PORT | wss://HOST:PORT]
//                     [--bytes N] [--timeout SECONDS] [--chromium PATH]
//
// Two pages in Debian's headless Chromium (driven by npm playwright-core over a pipe; no
// browser is downloaded) load the stock webtorrent browser bundle
// (node_modules/webtorrent/dist/webtorrent.min.js) from a small HTTP server here. The
// seeding page makes a file of --bytes deterministic pseudo-random bytes and seeds it
// with the tracker as its only announce URL; the leeching page adds the torrent's magnet
// link (info hash and tracker, nothing else) and downloads metadata and data over WebRTC
// data channels from the seeder. The test passes when the leecher's file has the
// seeder's bytes (SHA-256 computed in the page, compared with Node's) within --timeout.
//
// --tracker bittorrent-tracker starts npm bittorrent-tracker's Server (WebSocket only) on
// 127.0.0.1 here, the reference the harness was developed against; a ws:// or wss:// URL
// uses a tracker already running (reef). wss:// trusts any certificate (the tests make
// their own CA), so --ignore-certificate-errors is passed to Chromium.
//
// What WebRTC needs here (see /work/shared/PEERS.md): --allow-loopback-in-peer-connection
// (else no ICE candidates at all, and webtorrent never announces, since it waits for ICE
// gathering); camera and microphone permission granted to the page's origin (nothing is
// opened; without it Chromium does not enumerate interfaces and never uses lo);
// mDNS-obfuscated candidates off; an empty iceServers list; no DNS. Run it inside a
// network namespace of its own (tests/webtorrent_transfer_test.sh does, with unshare
// --net) so ICE never touches a real interface.
//
// Prints one JSON line of results and exits 0 on success, 1 on failure, 2 on bad usage.
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

function parseArgs (argv) {
  const args = { tracker: 'bittorrent-tracker', bytes: 1 << 20, timeout: 90, chromium: '/usr/bin/chromium' }
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in args) || i + 1 >= argv.length) {
      console.error('usage: node transfer.mjs [--tracker bittorrent-tracker|ws://..|wss://..] [--bytes N] [--timeout S] [--chromium PATH]')
      process.exit(2)
    }
    args[key] = typeof args[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1]
  }
  return args
}

// The file's bytes: xorshift32 from a fixed seed, the same in Node and in the page.
function fileBytes (n) {
  const out = Buffer.alloc(n)
  let x = 0x9e3779b9
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

async function startReferenceTracker () {
  const { Server } = await import('bittorrent-tracker')
  const server = new Server({ udp: false, http: false, ws: true, stats: false })
  server.on('warning', () => {})
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `ws://127.0.0.1:${server.ws.address().port}`, close: () => new Promise(resolve => server.close(resolve)) }
}

// The page: webtorrent's bundle and a few functions the test calls.
const PAGE = `<!doctype html><meta charset="utf-8"><title>reef webtorrent transfer</title>
<script type="module">
import WebTorrent from '/webtorrent.min.js'
function fileBytes (n) {
  const out = new Uint8Array(n)
  let x = 0x9e3779b9
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}
async function sha256 (bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes)
  return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('')
}
function newClient () {
  // No STUN or TURN: host candidates on loopback only.
  return new WebTorrent({ dht: false, lsd: false, utPex: false, tracker: { rtcConfig: { iceServers: [] } } })
}
window.log = []
window.ready = true
window.seed = (bytes, tracker) => new Promise((resolve, reject) => {
  const client = window.client = newClient()
  client.on('error', e => reject(String(e)))
  const file = new File([fileBytes(bytes)], 'reef-transfer.bin')
  client.seed(file, { announce: [tracker], name: 'reef-transfer.bin' }, torrent => {
    torrent.on('warning', w => window.log.push('seed warning: ' + w))
    torrent.on('wire', () => window.log.push('seed: a peer connected'))
    resolve({ magnetURI: torrent.magnetURI, infoHash: torrent.infoHash })
  })
})
window.leech = (magnetURI) => new Promise((resolve, reject) => {
  const client = window.client = newClient()
  client.on('error', e => reject(String(e)))
  const torrent = client.add(magnetURI)
  torrent.on('warning', w => window.log.push('leech warning: ' + w))
  torrent.on('wire', () => window.log.push('leech: a peer connected'))
  torrent.on('done', async () => {
    const file = torrent.files[0]
    const bytes = new Uint8Array(await file.arrayBuffer())
    resolve({ length: bytes.length, sha256: await sha256(bytes), peers: torrent.numPeers })
  })
})
</script>`

async function startPageServer () {
  const bundle = fs.readFileSync(path.join(here, 'node_modules/webtorrent/dist/webtorrent.min.js'))
  const server = http.createServer((req, res) => {
    if (req.url === '/webtorrent.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      res.end(bundle)
    } else {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(PAGE)
    }
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise(resolve => server.close(resolve)) }
}

function withTimeout (promise, seconds, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${seconds} s waiting for ${what}`)), seconds * 1000)
    })
  ]).finally(() => clearTimeout(timer))
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const started = Date.now()
  const tracker = args.tracker === 'bittorrent-tracker' ? await startReferenceTracker() : { url: args.tracker, close: async () => {} }
  const pages = await startPageServer()
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: [
      '--no-sandbox',
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
      '--no-first-run',
      '--disable-background-networking',
      ...(tracker.url.startsWith('wss:') ? ['--ignore-certificate-errors'] : [])
    ]
  })
  const result = { tracker: args.tracker, bytes: args.bytes, ok: false }
  const logs = []
  try {
    const open = async (name) => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true })
      await context.grantPermissions(['camera', 'microphone'], { origin: pages.origin })
      const page = await context.newPage()
      page.on('console', m => logs.push(`${name} console: ${m.text()}`))
      page.on('pageerror', e => logs.push(`${name} error: ${e}`))
      await page.goto(pages.origin + '/')
      await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 })
      return page
    }
    const seeder = await open('seeder')
    const leecher = await open('leecher')
    const seeded = await withTimeout(seeder.evaluate(([bytes, url]) => window.seed(bytes, url), [args.bytes, tracker.url]), args.timeout, 'the seeder to seed')
    result.info_hash = seeded.infoHash
    const got = await withTimeout(leecher.evaluate(magnet => window.leech(magnet), seeded.magnetURI), args.timeout, 'the leecher to finish')
    const want = crypto.createHash('sha256').update(fileBytes(args.bytes)).digest('hex')
    result.length = got.length
    result.sha256 = got.sha256
    result.ok = got.length === args.bytes && got.sha256 === want
    result.seconds = (Date.now() - started) / 1000
    for (const page of [seeder, leecher]) logs.push(...(await page.evaluate(() => window.log)))
  } catch (e) {
    result.error = String(e.message || e)
  } finally {
    await browser.close().catch(() => {})
    await pages.close()
    await tracker.close()
  }
  if (!result.ok) for (const line of logs.slice(-40)) console.error(line)
  console.log(JSON.stringify(result))
  process.exit(result.ok ? 0 : 1)
}

main().catch(e => {
  console.error(e)
  process.exit(1)
})
