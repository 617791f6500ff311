// Builds the guest page's files into dist/: the script (esbuild, from src/
// and the locked npm packages), PDF.js's worker, and the guest's core
// (guest/, built for wasm32 by scripts/build-guest). Writes manifest.json
// with each file's SHA-384, which the verifier serves as integrity hashes.

import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, 'dist')
const wasm = join(here, '../../target/wasm32-unknown-unknown/wasm/countersign_guest.wasm')
if (!existsSync(wasm)) {
  console.error(`${wasm} is missing: run scripts/build-guest (it builds the core first)`)
  process.exit(1)
}
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
const manifest = {}
for (const name of ['guest.js', 'pdf.worker.min.mjs', 'countersign_guest.wasm']) {
  const bytes = readFileSync(join(dist, name))
  manifest[name] = `sha384-${createHash('sha384').update(bytes).digest('base64')}`
}
writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
console.log(`guest page built in ${dist}`)
