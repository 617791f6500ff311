// Builds the guest page's files into dist/: the script (esbuild, from src/
// and the locked npm packages), PDF.js's worker, and the guest's core
// (guest/, built for wasm32 by scripts/build-guest), and the files PDF.js
// loads on demand (under pdfjs/). Writes manifest.json
// with each file's SHA-384, which the verifier serves as integrity hashes.

import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, 'dist')
const wasm = join(here, '../../target/wasm32-unknown-unknown/wasm/countersign_guest.wasm')
if (!existsSync(wasm)) {
  console.error(`${wasm} is missing: run scripts/build-guest (it builds the core first)`)
  process.exit(1)
}
rmSync(dist, { recursive: true, force: true })
mkdirSync(dist, { recursive: true })
await build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome119', 'firefox121', 'safari17'],
  minify: true,
  legalComments: 'none',
  outfile: join(dist, 'guest.js')
})
copyFileSync(join(here, 'node_modules/pdfjs-dist/build/pdf.worker.min.mjs'), join(dist, 'pdf.worker.min.mjs'))
copyFileSync(wasm, join(dist, 'countersign_guest.wasm'))
// What PDF.js fetches when a document needs it: JPEG 2000 and colour
// decoders, CMaps, the standard fonts, so that it draws every page the
// normal form allows (nothing is left out for a missing file).
for (const folder of ['cmaps', 'standard_fonts', 'wasm', 'iccs']) {
  cpSync(join(here, 'node_modules/pdfjs-dist', folder), join(dist, 'pdfjs', folder), { recursive: true })
}
const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)])
const manifest = {}
for (const path of files(dist).sort()) {
  const name = relative(dist, path)
  if (name === 'manifest.json' || /LICENSE/.test(name)) continue
  manifest[name] = `sha384-${createHash('sha384').update(readFileSync(path)).digest('base64')}`
}
writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
console.log(`guest page built in ${dist}`)
