// The document's pages, drawn by PDF.js from the bytes the guest holds (the
// very bytes it signs), with the person's own fields outlined.

import * as pdfjs from 'pdfjs-dist'

let resources = ''

// Where PDF.js's worker and the files it loads on demand are (`base`: a
// folder with cmaps/, standard_fonts/, wasm/, iccs/).
export function usePdfWorker (url, base) {
  pdfjs.GlobalWorkerOptions.workerSrc = url
  resources = base
}

// Draws every page of `bytes` into `container`, fitted to its width.
// `fields` are {page (1-based), rect {x, y, width, height} in points, mine,
// label}: every field is outlined, the person's own stand out.
export async function showPages (container, bytes, fields = []) {
  // Everything PDF.js may need is here, no system font stands in for a
  // missing one, and a file it cannot read is an error, not a partial page.
  const pdf = await pdfjs.getDocument({
    data: bytes.slice(),
    isEvalSupported: false,
    useSystemFonts: false,
    stopAtErrors: true,
    cMapUrl: `${resources}cmaps/`,
    cMapPacked: true,
    standardFontDataUrl: `${resources}standard_fonts/`,
    wasmUrl: `${resources}wasm/`,
    iccUrl: `${resources}iccs/`
  }).promise
  container.replaceChildren()
  const width = Math.max(280, container.clientWidth || 360)
  for (let n = 1; n <= pdf.numPages; n++) {
    const page = await pdf.getPage(n)
    const base = page.getViewport({ scale: 1 })
    const scale = width / base.width
    const viewport = page.getViewport({ scale: scale * (window.devicePixelRatio || 1) })
    const shown = page.getViewport({ scale })
    const sheet = document.createElement('div')
    sheet.className = 'sheet'
    sheet.style.width = `${shown.width}px`
    sheet.style.height = `${shown.height}px`
    sheet.dataset.page = String(n)
    const canvas = document.createElement('canvas')
    canvas.width = Math.floor(viewport.width)
    canvas.height = Math.floor(viewport.height)
    canvas.setAttribute('aria-label', `Page ${n} of ${pdf.numPages}`)
    canvas.setAttribute('role', 'img')
    sheet.append(canvas)
    for (const field of fields.filter(f => f.page === n)) {
      const box = document.createElement('div')
      box.className = field.mine ? 'field-box mine' : 'field-box'
      box.textContent = field.label
      box.style.left = `${field.rect.x * scale}px`
      box.style.top = `${shown.height - (field.rect.y + field.rect.height) * scale}px`
      box.style.width = `${field.rect.width * scale}px`
      box.style.height = `${field.rect.height * scale}px`
      sheet.append(box)
    }
    container.append(sheet)
    await page.render({ canvasContext: canvas.getContext('2d'), viewport, canvas }).promise
  }
  return pdf.numPages
}
