// Records the messages of the harness scenario into a file, one message a line:
//   client<TAB>{json}   or   server<TAB>{json}
// Usage: node capture.mjs OUT_FILE
import { writeFileSync } from 'node:fs'
import { recordScenario } from './harness.mjs'

const out = process.argv[2]
if (!out) {
  console.error('usage: node capture.mjs OUT_FILE')
  process.exit(2)
}
const log = await recordScenario()
writeFileSync(out, log.map(m => `${m.dir}\t${m.data}\n`).join(''))
console.log(`captured ${log.length} messages into ${out}`)
process.exit(0)
