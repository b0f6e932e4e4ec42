// Runs npm bittorrent-tracker's Client against its own Server on loopback and records
// every WebSocket message, in both directions, exactly as sent.
import { Server, Client } from 'bittorrent-tracker'

// Info hash and peer ids chosen to cover every kind of byte a "binary string" carries:
// 0x00-0x1f (escaped as \u00XX or \n ...), '"' and '\\', 0x7f, 0x80-0xff (raw UTF-8).
export const INFO_HASH = '00011f2022415c7e7f80a0c3e9f0ff0a0d09085c'
export const INFO_HASH_2 = 'c3a9e92d576562546f7272656e742d2d2d2d2d21'
export const PEER_A = '2d5757303230382d' + '0102030405e9ff807f225c0a'
export const PEER_B = '2d5757303230382d' + '6162636465666768696a6b6c'

function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

function once (emitter, event, what, ms = 5000) {
  return withTimeout(new Promise(resolve => emitter.once(event, resolve)), ms, what)
}

// Starts a bittorrent-tracker Server (WebSocket only) on 127.0.0.1, port 0, and records
// what it receives and sends.
export async function startRecordingServer () {
  const log = []
  const server = new Server({ udp: false, http: false, ws: true, stats: false })
  server.on('warning', () => {})
  server.on('error', err => { throw err })
  server.ws.on('connection', socket => {
    socket.prependListener('message', data => log.push({ dir: 'client', data: data.toString('utf8') }))
    const send = socket.send.bind(socket)
    socket.send = (data, ...rest) => {
      log.push({ dir: 'server', data: typeof data === 'string' ? data : data.toString('utf8') })
      return send(data, ...rest)
    }
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = server.ws.address().port
  return { server, log, url: `ws://127.0.0.1:${port}` }
}

function newClient (url, peerId, infoHash = INFO_HASH) {
  const client = new Client({ infoHash, peerId, announce: [url], port: 6881 })
  client.on('error', err => { throw err })
  client.on('warning', () => {})
  return client
}

const settle = ms => new Promise(resolve => setTimeout(resolve, ms))

// The scenario: two peers meet through offers and an answer, then scrape, update,
// complete and stop; plus a malformed announce that draws a failure reason.
export async function recordScenario () {
  const { server, log, url } = await startRecordingServer()
  try {
    const a = newClient(url, PEER_A)
    a.start()
    await once(a, 'update', 'the first announce response')

    const b = newClient(url, PEER_B)
    const aGotPeer = once(a, 'peer', 'peer A to receive an offer')
    b.start({ left: 1000 })
    await once(b, 'update', 'the second announce response')
    await aGotPeer  // A answered B's offer: the server forwards the answer to B
    await settle(200)

    a.scrape()
    await once(a, 'scrape', 'a scrape response')
    await new Promise((resolve, reject) => {
      Client.scrape({ announce: url, infoHash: [INFO_HASH, INFO_HASH_2] }, (err, results) => {
        if (err) reject(err)
        else resolve(results)
      })
    })

    a.update({ uploaded: 123456789, downloaded: 987654321, left: 0 })
    await once(a, 'update', 'the response to an update')
    a.complete()
    await once(a, 'update', 'the response to completed')
    b.stop()
    await once(b, 'update', 'the response to stopped')

    // A malformed announce, sent by hand: the server answers with a failure reason.
    const { default: WebSocket } = await import('ws')
    const raw = new WebSocket(url)
    await once(raw, 'open', 'a raw connection')
    const reply = once(raw, 'message', 'the failure reason')
    raw.send(JSON.stringify({ action: 'announce', info_hash: 'too short', peer_id: 'x' }))
    await reply
    raw.close()

    a.destroy()
    b.destroy()
    await settle(100)
  } finally {
    await new Promise(resolve => server.close(resolve))
  }
  return log
}
