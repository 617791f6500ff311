// The document's pages, drawn by PDF.js from the bytes the guest holds (the
// very bytes it signs), with the person's own fields outlined.

import * as pdfjs from 'pdfjs-dist'

export function usePdfWorker (url) {
  pdfjs.GlobalWorkerOptions.workerSrc = url
}

// Draws every page of `bytes` into `container`, fitted to its width.
// `fields` are {page (1-based), rect {x, y, width, height} in points, mine, label}.
export async function showPages (container, bytes, fields = []) {
  const pdf = await pdfjs.getDocument({ data: bytes.slice(), isEvalSupported: false, disableFontFace: false }).promise
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
    for (const field of fields.filter(f => f.page === n && f.mine)) {
      const box = document.createElement('div')
      box.className = 'field-box'
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
