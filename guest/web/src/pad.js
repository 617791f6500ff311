// A signature as the person gives it: drawn with a finger or a mouse, typed,
// or uploaded as an image. Always ends as PNG (or the uploaded JPEG) bytes.

const WIDTH = 600
const HEIGHT = 200

export function signaturePad (root) {
  root.replaceChildren()
  root.className = 'pad'
  const tabs = document.createElement('div')
  tabs.className = 'tabs'
  tabs.setAttribute('role', 'tablist')
  const canvas = document.createElement('canvas')
  canvas.width = WIDTH
  canvas.height = HEIGHT
  canvas.id = 'pad'
  canvas.setAttribute('aria-label', 'Draw your signature here')
  const typed = document.createElement('input')
  typed.type = 'text'
  typed.id = 'typed-signature'
  typed.placeholder = 'Type your name'
  typed.hidden = true
  const upload = document.createElement('input')
  upload.type = 'file'
  upload.id = 'signature-file'
  upload.accept = 'image/png,image/jpeg'
  upload.hidden = true
  const clear = document.createElement('button')
  clear.type = 'button'
  clear.className = 'link'
  clear.textContent = 'Clear'
  let mode = 'draw'
  let drawn = false
  let uploaded = null
  const ctx = canvas.getContext('2d')
  const reset = () => { ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, WIDTH, HEIGHT); drawn = false }
  reset()
  for (const [name, label] of [['draw', 'Draw'], ['type', 'Type'], ['upload', 'Upload']]) {
    const tab = document.createElement('button')
    tab.type = 'button'
    tab.textContent = label
    tab.setAttribute('role', 'tab')
    tab.setAttribute('aria-selected', String(name === mode))
    tab.dataset.mode = name
    tab.addEventListener('click', () => {
      mode = name
      for (const t of tabs.children) t.setAttribute('aria-selected', String(t.dataset.mode === mode))
      canvas.hidden = mode === 'upload'
      typed.hidden = mode !== 'type'
      upload.hidden = mode !== 'upload'
      clear.hidden = mode === 'upload'
      if (mode === 'type') { typed.focus(); drawTyped() }
      if (mode === 'draw') reset()
    })
    tabs.append(tab)
  }
  const drawTyped = () => {
    reset()
    ctx.fillStyle = '#1b2a6b'
    ctx.font = 'italic 64px "Segoe Script", "Brush Script MT", cursive, serif'
    ctx.textBaseline = 'middle'
    ctx.fillText(typed.value, 24, HEIGHT / 2, WIDTH - 48)
    drawn = typed.value.trim().length > 0
  }
  typed.addEventListener('input', drawTyped)
  upload.addEventListener('change', async () => {
    const file = upload.files[0]
    uploaded = file ? new Uint8Array(await file.arrayBuffer()) : null
  })
  let last = null
  const point = (e) => {
    const r = canvas.getBoundingClientRect()
    return [(e.clientX - r.left) * WIDTH / r.width, (e.clientY - r.top) * HEIGHT / r.height]
  }
  canvas.addEventListener('pointerdown', (e) => { if (mode !== 'draw') return; canvas.setPointerCapture(e.pointerId); last = point(e) })
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return
    const next = point(e)
    ctx.strokeStyle = '#1b2a6b'
    ctx.lineWidth = 4
    ctx.lineCap = 'round'
    ctx.beginPath()
    ctx.moveTo(...last)
    ctx.lineTo(...next)
    ctx.stroke()
    last = next
    drawn = true
  })
  const up = () => { last = null }
  canvas.addEventListener('pointerup', up)
  canvas.addEventListener('pointercancel', up)
  clear.addEventListener('click', () => { typed.value = ''; reset() })
  root.append(tabs, canvas, typed, upload, clear)
  return {
    // The signature's image bytes, or null when none was given.
    async bytes () {
      if (mode === 'upload') return uploaded
      if (!drawn) return null
      const blob = await new Promise(resolve => canvas.toBlob(resolve, 'image/png'))
      return new Uint8Array(await blob.arrayBuffer())
    }
  }
}
