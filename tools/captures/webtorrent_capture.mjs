// Records the messages of the harness scenario into a file, one message a line:
//   client<TAB>{json}   or   server<TAB>{json}
// Usage: node tools/captures/webtorrent_capture.mjs OUT_FILE
// (after npm ci in tools/webtorrent/, whose harness and packages it uses)
import { writeFileSync } from 'node:fs'
import { recordScenario } from '../webtorrent/harness.mjs'

const out = process.argv[2]
if (!out) {
  console.error('usage: node tools/captures/webtorrent_capture.mjs OUT_FILE')
  process.exit(2)
}
const log = await recordScenario()
writeFileSync(out, log.map(m => `${m.dir}\t${m.data}\n`).join(''))
console.log(`captured ${log.length} messages into ${out}`)
process.exit(0)
