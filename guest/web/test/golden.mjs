// The guest's core as the browser runs it (the wasm32 build, under Node.js):
// given an envelope's saved document and its files (written by
// tests/guest_wasm.rs from the golden scenario), it must fold the log and
// render the final PDF byte for byte as the native build does.
// Usage: node golden.mjs <wasm> <fixture dir>; prints one JSON line.

import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { coreFromBytes, OP, hex } from '../src/core.js'

const [wasm, dir] = process.argv.slice(2)
const read = (name) => new Uint8Array(readFileSync(join(dir, name)))
const core = await coreFromBytes(readFileSync(wasm))
core(OP.OPEN, [new Uint8Array(16).fill(9), read('document.automerge'), new Uint8Array(32).fill(7)])
const envelope = read('envelope.id')
const me = read('client.key')
const summary = JSON.parse(new TextDecoder().decode(core(OP.SUMMARY, [envelope, me])[0]))
const images = readdirSync(dir).filter(n => n.startsWith('image-')).sort().map(read)
const [pdf, report] = core(OP.FINAL, [envelope, read('source.pdf'), ...images])
let refused = ''
try {
  core(OP.SYNC_IN, [new TextEncoder().encode('not a sync message')])
} catch (e) {
  refused = e.message
}
console.log(JSON.stringify({
  status: summary.status,
  me: summary.me,
  parties: summary.parties.map(p => p.name),
  final_hash: hex(core(OP.HASH, [pdf])[0]),
  final_len: pdf.length,
  verdict: JSON.parse(new TextDecoder().decode(report)).verdict,
  refused
}))
