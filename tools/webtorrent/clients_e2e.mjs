// npm bittorrent-tracker's Clients through a WebSocket tracker, end to end.
//
//   node clients_e2e.mjs bittorrent-tracker | ws://HOST:PORT | wss://HOST:PORT
//
// Three Clients (with the offline fake WebRTC of webrtc-polyfill-stub, so offers and
// answers are real messages but no data channel ever opens), each on its own WebSocket
// (bittorrent-tracker pools sockets by URL, so each gets its own path), announce one
// torrent. Checked, with every wait bounded:
//   - announce responses carry the right counts (a seeder, then leechers);
//   - the offers of each newcomer reach the peers already there (they emit 'peer' when
//     an offer arrives and answer it), and the answers come back (the newcomer emits
//     'peer' when an answer matches an offer it made);
//   - scrape (one info hash, and an array with an unknown one) counts right;
//   - a Client that goes away (its socket closes) is removed: scrape counts drop, and
//     a new peer's offers go only to the peers left;
//   - `stopped` removes a peer the same way.
// wss:// trusts the certificate given by NODE_EXTRA_CA_CERTS (the test makes a CA).
// "bittorrent-tracker" starts npm bittorrent-tracker's Server here, the reference the
// test was written against. Prints "N passed, 0 failed" and exits 0 when all hold.
import { Client, Server } from 'bittorrent-tracker'

const target = process.argv[2]
if (!target) {
  console.error('usage: node clients_e2e.mjs bittorrent-tracker|ws://HOST:PORT|wss://HOST:PORT')
  process.exit(2)
}

const INFO_HASH = 'c0ffee00112233445566778899aabbccddeeff00'
const UNKNOWN_HASH = 'deadbeef00000000000000000000000000000001'
const peerId = n => Buffer.from(`-RF0001-reefpeer000${n}`).toString('hex')

let passed = 0
let failed = 0
function check (ok, what) {
  if (ok) passed++
  else { failed++; console.error(`FAIL: ${what}`) }
}

const deadline = setTimeout(() => {
  console.error(`FAIL: timed out after 60 s (${passed} passed, ${failed} failed so far)`)
  process.exit(1)
}, 60000)

function once (emitter, event, what, ms = 10000) {
  let timer
  return Promise.race([
    new Promise(resolve => emitter.once(event, resolve)),
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms) })
  ]).finally(() => clearTimeout(timer))
}
// Resolves once `emitter` has emitted `event` `n` times from now.
function times (emitter, event, n, what, ms = 10000) {
  let count = 0
  let timer
  return new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} (${count} of ${n})`)), ms)
    const on = () => { if (++count === n) { emitter.off(event, on); clearTimeout(timer); resolve() } }
    emitter.on(event, on)
  })
}
const settle = ms => new Promise(resolve => setTimeout(resolve, ms))

async function main () {
  let server = null
  let base = target
  if (target === 'bittorrent-tracker') {
    server = new Server({ udp: false, http: false, ws: true, stats: false })
    server.on('warning', () => {})
    await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `ws://127.0.0.1:${server.ws.address().port}`
  }
  const clients = []
  const newClient = (n) => {
    const client = new Client({ infoHash: INFO_HASH, peerId: peerId(n), announce: [`${base}/announce/${n}`], port: 6881 })
    client.on('error', err => { check(false, `client ${n} error: ${err.message}`) })
    client.warnings = []
    client.on('warning', err => client.warnings.push(err.message))
    // Count the 'peer' events: an offer received (and answered), or an answer received.
    client.peers = 0
    client.on('peer', () => { client.peers++ })
    clients.push(client)
    return client
  }
  const scrape = async (client, what) => {
    const got = once(client, 'scrape', what)
    client.scrape()
    return got
  }

  try {
    // A seeder alone.
    const a = newClient(1)
    let update = once(a, 'update', 'A announce response')
    a.start({ left: 0 })
    let u = await update
    check(u.complete === 1 && u.incomplete === 0, `A alone: complete 1, incomplete 0 (got ${u.complete}, ${u.incomplete})`)

    // B: its offer reaches A (A answers), A's answer reaches B.
    const b = newClient(2)
    update = once(b, 'update', 'B announce response')
    let aGotOffer = once(a, 'peer', 'B offer at A')
    let bGotAnswer = once(b, 'peer', 'A answer at B')
    b.start({ left: 1000 })
    u = await update
    check(u.complete === 1 && u.incomplete === 1, `B: complete 1, incomplete 1 (got ${u.complete}, ${u.incomplete})`)
    await aGotOffer
    check(true, 'B offer reached A')
    await bGotAnswer
    check(true, 'A answer reached B')

    // C: its offers reach both A and B, both answers come back.
    const c = newClient(3)
    update = once(c, 'update', 'C announce response')
    aGotOffer = once(a, 'peer', 'C offer at A')
    const bGotOffer = once(b, 'peer', 'C offer at B')
    const cGotAnswers = times(c, 'peer', 2, 'two answers at C')
    c.start({ left: 1000 })
    u = await update
    check(u.complete === 1 && u.incomplete === 2, `C: complete 1, incomplete 2 (got ${u.complete}, ${u.incomplete})`)
    await Promise.all([aGotOffer, bGotOffer])
    check(true, 'C offers reached A and B')
    await cGotAnswers
    check(true, 'both answers reached C')

    let s = await scrape(a, 'scrape with three peers')
    check(s.complete === 1 && s.incomplete === 2, `scrape: complete 1, incomplete 2 (got ${s.complete}, ${s.incomplete})`)
    const many = await new Promise((resolve, reject) => {
      Client.scrape({ announce: `${base}/scrape`, infoHash: [INFO_HASH, UNKNOWN_HASH] }, (err, results) => err ? reject(err) : resolve(results))
    })
    check(many[INFO_HASH] && many[INFO_HASH].complete === 1 && many[INFO_HASH].incomplete === 2, 'multi scrape: the torrent counts 1 and 2')
    check(many[UNKNOWN_HASH] && many[UNKNOWN_HASH].complete === 0 && many[UNKNOWN_HASH].incomplete === 0, 'multi scrape: an unknown torrent counts 0 and 0')

    // C goes away: its socket closes, without `stopped`.
    c.destroy()
    clients.splice(clients.indexOf(c), 1)
    await settle(500)
    s = await scrape(a, 'scrape after C left')
    check(s.complete === 1 && s.incomplete === 1, `after C's socket closed: complete 1, incomplete 1 (got ${s.complete}, ${s.incomplete})`)

    // D: offers go only to A and B, both answer.
    const d = newClient(4)
    const peersBefore = a.peers + b.peers
    const dGotAnswers = times(d, 'peer', 2, 'two answers at D')
    update = once(d, 'update', 'D announce response')
    d.start({ left: 1000 })
    u = await update
    check(u.complete === 1 && u.incomplete === 2, `D: complete 1, incomplete 2 (got ${u.complete}, ${u.incomplete})`)
    await dGotAnswers
    await settle(300)
    check(a.peers + b.peers - peersBefore === 2, `D's offers reached exactly A and B (got ${a.peers + b.peers - peersBefore})`)

    // B stops: removed as well.
    update = once(b, 'update', 'B stopped response')
    b.stop()
    await update
    await settle(200)
    s = await scrape(a, 'scrape after B stopped')
    check(s.complete === 1 && s.incomplete === 1, `after B stopped: complete 1, incomplete 1 (got ${s.complete}, ${s.incomplete})`)
    for (const client of clients) check(client.warnings.length === 0, `no warnings (got ${client.warnings.join('; ')})`)
  } catch (e) {
    check(false, e.message)
  } finally {
    for (const client of clients) client.destroy()
    if (server) await new Promise(resolve => server.close(resolve))
  }
  clearTimeout(deadline)
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed === 0 ? 0 : 1)
}

main()
