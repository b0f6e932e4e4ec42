// Compatibility of reef's protocol/ws with npm bittorrent-tracker's real Client.
//
//   node compat_test.mjs PATH/TO/webtorrent_tool
//
// A small tracker runs here in Node, but every byte it reads or writes on its WebSocket
// connections goes through reef's C++ code (webtorrent_tool): the upgrade request is
// validated and answered with reef's 101 response, client frames are unmasked and
// reassembled by reef's frame parser, client messages are parsed by reef's WebTorrent
// parser, and every reply (announce response, forwarded offer, forwarded answer, scrape
// response, error, close) is written by reef's serializers and frame writer. Only the
// swarm bookkeeping is JavaScript.
//
// Two bittorrent-tracker Clients (with the offline fake WebRTC from webrtc-polyfill-stub)
// then announce, exchange an offer and an answer through it, scrape, get an error, and
// stop. Checked:
//  - each Client accepts reef's handshake (it connects at all);
//  - each Client accepts reef's announce responses ('update' with our counts), reef's
//    forwarded offer (it answers it: 'peer'), reef's forwarded answer (it matches the
//    offer_id it generated: 'peer' on the offering side), reef's scrape response ('scrape'
//    with our counts, for an info hash full of bytes that need escaping), reef's error
//    ('warning' with our failure reason);
//  - every message a Client sent was parsed by reef, and reef's rewrite of it is the same
//    message (JSON.parse of both agree on every field reef keeps).
// Exits 0 and prints "N passed, 0 failed" when all hold; 1 otherwise. Bounded: 30 s.
import { spawn } from 'node:child_process'
import net from 'node:net'
import readline from 'node:readline'
import { Client } from 'bittorrent-tracker'

import { INFO_HASH, INFO_HASH_2, PEER_A, PEER_B } from './harness.mjs'

const toolPath = process.argv[2]
if (!toolPath) {
  console.error('usage: node compat_test.mjs PATH/TO/webtorrent_tool')
  process.exit(2)
}

let passed = 0
let failed = 0
function check (ok, what) {
  if (ok) {
    passed++
  } else {
    failed++
    console.error(`FAIL: ${what}`)
  }
}

const deadline = setTimeout(() => {
  console.error('FAIL: timed out after 30 s')
  process.exit(1)
}, 30000)

// --- the tool, one command at a time ---
const tool = spawn(toolPath, [], { stdio: ['pipe', 'pipe', 'inherit'] })
const lines = readline.createInterface({ input: tool.stdout })
const waiting = []
const buffered = []
lines.on('line', line => {
  if (line.startsWith('usage')) {
    console.error(`FAIL: tool: ${line}`)
    process.exit(1)
  }
  if (waiting.length > 0) waiting.shift()(line)
  else buffered.push(line)
})
function nextLine () {
  if (buffered.length > 0) return Promise.resolve(buffered.shift())
  return new Promise(resolve => waiting.push(resolve))
}
let queue = Promise.resolve()
// Runs a command; resolves with its answer lines (up to and including `until`).
function ask (command, until = () => true) {
  const run = async () => {
    tool.stdin.write(command + '\n')
    const out = []
    for (;;) {
      const line = await nextLine()
      out.push(line)
      if (until(line)) return out
    }
  }
  const result = queue.then(run)
  queue = result.catch(() => {})
  return result
}
const hex = s => Buffer.from(s, 'utf8').toString('hex')
async function frame (command) {
  const [line] = await ask(command)
  check(line.startsWith('frame '), `tool wrote a frame for "${command.slice(0, 40)}"`)
  return Buffer.from(line.slice(6), 'hex')
}

// --- the tracker: swarm logic here, bytes through reef ---
const peers = new Map() // peer_id hex -> socket
const seen = [] // every client message: { summary, original, rewritten }
const ANNOUNCE_INTERVAL = 120
const REFUSED_REASON = 'torrent not allowed: "café" \\ \u0001'

async function onMessage (socket, message) {
  const m = message.summary
  if (m.action === 'scrape') {
    const files = m.info_hash.map((h, i) => `${h}:${10 + i}:${20 + i}:${30 + i}`)
    socket.write(await frame(`scrape-response 600 ${files.join(' ')}`))
    return
  }
  if (m.info_hash === INFO_HASH_2) {
    socket.write(await frame(`error ${hex(REFUSED_REASON)} announce ${m.info_hash}`))
    return
  }
  if (m.answer) {
    const to = peers.get(m.to_peer_id)
    if (to) {
      to.write(await frame(`answer ${m.info_hash} ${m.peer_id} ${m.offer_id} ${hex(JSON.stringify(m.answer))}`))
    }
    return
  }
  peers.set(m.peer_id, socket)
  socket.write(await frame(`announce-response ${m.info_hash} 7 ${peers.size} ${ANNOUNCE_INTERVAL}`))
  const others = [...peers.entries()].filter(([id]) => id !== m.peer_id)
  for (const [i, [, other]] of others.entries()) {
    const offer = (m.offers || [])[i]
    if (!offer) break
    other.write(await frame(`offer ${m.info_hash} ${m.peer_id} ${offer.offer_id} ${hex(JSON.stringify(offer.offer))}`))
  }
}

const server = net.createServer(socket => {
  let buffer = Buffer.alloc(0)
  let upgraded = false
  let busy = Promise.resolve()
  socket.on('error', () => {})
  socket.on('data', chunk => {
    buffer = Buffer.concat([buffer, chunk])
    busy = busy.then(async () => {
      if (!upgraded) {
        const [line] = await ask(`upgrade ${buffer.toString('hex')}`)
        if (line === 'incomplete') return
        const [status, consumed, response] = line.split(' ')
        check(status === '101', `reef accepts the Client's upgrade request (got ${status})`)
        socket.write(Buffer.from(response, 'hex'))
        upgraded = status === '101'
        buffer = buffer.subarray(Number(consumed))
        if (!upgraded) socket.end()
      }
      if (buffer.length === 0) return
      const out = await ask(`client-frames ${buffer.toString('hex')}`, l => l.startsWith('end '))
      for (const line of out) {
        const [kind, ...rest] = line.split(' ')
        if (kind === 'end') {
          buffer = buffer.subarray(Number(rest[0]))
        } else if (kind === 'message') {
          const message = {
            summary: JSON.parse(Buffer.from(rest[0], 'hex').toString('utf8')),
            original: Buffer.from(rest[1], 'hex').toString('utf8'),
            rewritten: Buffer.from(rest[2], 'hex').toString('utf8')
          }
          seen.push(message)
          await onMessage(socket, message)
        } else if (kind === 'close') {
          socket.end(await frame(`close 1000 ${hex('bye')}`))
        } else {
          check(false, `client frame handled: ${line.slice(0, 120)}`)
        }
      }
    })
  })
})

// --- the scenario ---
function once (emitter, event, what, ms = 8000) {
  let timer
  return Promise.race([
    new Promise(resolve => emitter.once(event, (...args) => resolve(args))),
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

function newClient (url, peerId, infoHash = INFO_HASH) {
  const client = new Client({ infoHash, peerId, announce: [url], port: 6881 })
  client.on('error', err => check(false, `client error: ${err.message}`))
  return client
}

async function main () {
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `ws://127.0.0.1:${server.address().port}`
  const warnings = []

  const a = newClient(url, PEER_A)
  a.on('warning', err => warnings.push(err.message))
  a.start()
  const [first] = await once(a, 'update', 'A: announce response')
  check(first.complete === 7 && first.incomplete === 1, `A: reef's announce response (${JSON.stringify(first)})`)
  check(first.infoHash === INFO_HASH, 'A: the info hash came back intact')

  const b = newClient(url, PEER_B)
  b.on('warning', err => warnings.push(err.message))
  const aGetsOffer = once(a, 'peer', "A: reef's forwarded offer")
  const bGetsAnswer = once(b, 'peer', "B: reef's forwarded answer")
  b.start()
  const [second] = await once(b, 'update', 'B: announce response')
  check(second.complete === 7 && second.incomplete === 2, `B: reef's announce response (${JSON.stringify(second)})`)
  const [offerPeer] = await aGetsOffer
  check(offerPeer.id === PEER_B, 'A: the offer came from B')
  const [answerPeer] = await bGetsAnswer
  check(answerPeer.id === PEER_A, "B: the answer came from A, matching B's own offer_id")

  const scraped = once(a, 'scrape', "A: reef's scrape response")
  a.scrape()
  const [scrape] = await scraped
  check(scrape.infoHash === INFO_HASH && scrape.complete === 10 && scrape.incomplete === 20 &&
        scrape.downloaded === 30, `A: scrape counts (${JSON.stringify(scrape)})`)

  const c = newClient(url, PEER_B, INFO_HASH_2)
  const refused = once(c, 'warning', "C: reef's failure reason")
  c.start()
  const [warning] = await refused
  check(warning.message === REFUSED_REASON, `C: the failure reason (${warning.message})`)

  b.stop()
  await once(b, 'update', 'B: response to stopped')
  for (const client of [a, b, c]) client.destroy()
  await new Promise(resolve => setTimeout(resolve, 300))

  // Every client message: reef parsed it, and its rewrite means the same.
  const kept = ['action', 'info_hash', 'peer_id', 'event', 'numwant', 'uploaded', 'downloaded',
    'left', 'offers', 'to_peer_id', 'offer_id', 'answer']
  for (const m of seen) {
    const original = JSON.parse(m.original)
    const rewritten = JSON.parse(m.rewritten)
    for (const key of kept) {
      check(JSON.stringify(original[key]) === JSON.stringify(rewritten[key]),
        `rewrite keeps ${key} of ${m.original.slice(0, 80)}`)
    }
  }
  const kinds = seen.map(m => m.summary.action + (m.summary.answer ? '/answer' : '') +
    (m.summary.offers ? '/offers' : ''))
  check(kinds.includes('announce/offers') && kinds.includes('announce/answer') &&
        kinds.includes('scrape'), `every kind of client message went through reef (${kinds})`)
  check(warnings.length === 0, `no warnings from A or B (${warnings})`)
}

try {
  await main()
} catch (err) {
  check(false, err.message)
}
clearTimeout(deadline)
server.close()
tool.stdin.end()
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
