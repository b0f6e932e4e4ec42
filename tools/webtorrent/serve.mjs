// npm bittorrent-tracker's Server on 127.0.0.1, for benchmarks and tests:
//
//   node serve.mjs PORT [ws|http|udp ...]     (default: ws)
//
// Its own CLI ignores the host for UDP; this binds every listener it is asked for to
// 127.0.0.1:PORT. Prints "listening PORT" once ready (PORT 0 picks a free port) and runs
// until SIGTERM or SIGINT.
import { Server } from 'bittorrent-tracker'

const port = Number(process.argv[2] ?? 0)
const kinds = new Set(process.argv.slice(3).length > 0 ? process.argv.slice(3) : ['ws'])
const server = new Server({
  udp: kinds.has('udp'),
  http: kinds.has('http'),
  ws: kinds.has('ws'),
  stats: false,
  trustProxy: false
})
server.on('warning', () => {})
server.on('error', err => { console.error(`bittorrent-tracker: ${err.message}`) })
server.listen(port, '127.0.0.1', () => {
  const bound = server.ws ? server.ws.address().port : server.http ? server.http.address().port : server.udp.address().port
  console.log(`listening ${bound}`)
})
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)))
}
