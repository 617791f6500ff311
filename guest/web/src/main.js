// The guest signer: a person opens the invitation link on a phone and signs
// here, without installing anything. The page reaches the sender's node
// through the relay, keeps the envelope's document in sync, and does every
// judgement in the guest's core (the nodes' own code, in WebAssembly). The
// key is made in this browser and never leaves it.

import { loadCore, OP, u64, clock, readU64, hex, fromHex } from './core.js'
import * as store from './store.js'
import { startNode, peerIdOf, Route, ask } from './net.js'
import * as protocol from './protocol.js'
import { showPages, usePdfWorker } from './pages.js'
import { signaturePad } from './pad.js'

const root = document.getElementById('guest')
const $ = (id) => document.getElementById(id)
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props)
  node.append(...children)
  return node
}

function say (text, kind = '') {
  const state = $('state')
  state.textContent = text
  state.className = kind
}

const guest = {
  core: null,
  node: null,
  route: null,
  record: null,
  payload: '',
  envelope: null,
  code: null,
  blobs: new Map(),
  summary: null,
  shownDocument: '',
  busy: false,
  again: false
}

async function start () {
  const payload = location.hash.slice(1)
  if (!/^[A-Za-z0-9_-]{40,8192}$/.test(payload)) {
    say('This address holds no invitation. Open the link exactly as you received it.', 'bad')
    return
  }
  guest.payload = payload
  say('Opening your invitation…')
  guest.core = await loadCore(root.dataset.wasm, root.dataset.wasmIntegrity)
  performance.mark('core loaded')
  usePdfWorker(root.dataset.worker, root.dataset.pdfjs)
  const record = await store.keyFor(payload)
  guest.record = record
  guest.core(OP.OPEN, [crypto.getRandomValues(new Uint8Array(16)), record.doc ?? new Uint8Array(), crypto.getRandomValues(new Uint8Array(32))])
  const [inviter, inviteKey, lookupProof, envelope, slot, expires] = guest.core(OP.OPEN_LINK, [payload, record.publicKey])
  const inviterPeer = peerIdOf(inviter)
  guest.node = await startNode(record.key, record.publicKey, inviterPeer, { onSync, onBlob })
  guest.route = new Route(guest.node, root.dataset.relay, inviterPeer.toString())
  performance.mark('network started')
  guest.node.addEventListener('peer:disconnect', () => guest.core(OP.RECONNECTED))
  say('Reaching the sender…')
  if (!record.envelope) {
    if (envelope.length) {
      Object.assign(record, { envelope, slot: slot[0], expiresAt: readU64(expires) })
    } else {
      const answer = await untilReached(() => ask(guest.route, protocol.lookupRequest({ inviteKey, proof: lookupProof })))
      if (answer.kind !== 'found') {
        say('The sender does not recognise this invitation: it was used, has expired, or the document was withdrawn. Ask the sender for a new link.', 'bad')
        return
      }
      Object.assign(record, { envelope: answer.envelope, slot: answer.slot, expiresAt: answer.expiresAt })
    }
    await store.save(payload, record)
  }
  performance.mark('invitation looked up')
  guest.envelope = record.envelope
  await refresh()
  // How long each part of opening took (the benchmark reads these).
  performance.mark('first view')
  // The node tells of changes as they happen; a look every few seconds
  // covers a connection that dropped.
  setInterval(() => { if (!['completed', 'declined', 'voided'].includes(guest.summary?.status)) refresh() }, 5000)
}

// Asks until the sender's computer answers: it may be switched off for a
// while; this page keeps trying, a little less often each time.
async function untilReached (request) {
  for (let wait = 2000; ; wait = Math.min(wait * 2, 30000)) {
    try {
      return protocol.decodeResponse(await request())
    } catch (e) {
      say(`${unreachable} Trying again…`, 'bad')
      await new Promise(resolve => setTimeout(resolve, wait))
    }
  }
}

const unreachable = 'The sender\'s computer cannot be reached right now: it may be switched off or offline.'

// What one look may take in from the node: an envelope's log is small
// (the files travel apart); a node sending more is not followed further.
const SYNC_BYTES = 32 * 1024 * 1024

// Syncs with the node until neither side has more to say.
async function sync () {
  const { core, record } = guest
  const proof = core(OP.INVITE_PROOF, [guest.payload, record.envelope, Uint8Array.of(record.slot), u64(record.expiresAt), record.publicKey])[0]
  let taken = 0
  for (let round = 0; round < 50 && taken < SYNC_BYTES; round++) {
    const out = core(OP.SYNC_OUT)
    const request = protocol.syncRequest({ envelope: record.envelope, invite: { slot: record.slot, proof }, code: guest.code, message: out[0] })
    const answer = protocol.decodeResponse(await ask(guest.route, request))
    if (answer.kind === 'code' || answer.kind === 'unknown') return answer
    if (answer.message) {
      taken += answer.message.length
      core(OP.SYNC_IN, [answer.message])
    }
    if (!out.length && !answer.message) break
  }
  record.doc = core(OP.SAVE)[0]
  await store.save(guest.payload, record)
  return { kind: 'synced' }
}

// The node's own sync requests (it tells the guest of changes).
async function onSync (bytes) {
  const request = protocol.decodeRequest(bytes)
  if (request.kind !== 'sync' || !guest.envelope || hex(request.envelope) !== hex(guest.envelope)) return protocol.UNKNOWN
  if (request.message.length) guest.core(OP.SYNC_IN, [request.message])
  const out = guest.core(OP.SYNC_OUT)
  setTimeout(refresh, 0)
  return protocol.syncResponse(out[0])
}

// The node fetches the images this guest gave (its signature).
function onBlob (stream) {
  return protocol.serveBlob(stream, async (envelope, hash) =>
    guest.envelope && hex(envelope) === hex(guest.envelope) ? guest.record.images[hex(hash)] ?? null : null)
}

async function blob ({ hash, len }) {
  const own = guest.record.images[hash]
  if (own) return own
  if (guest.blobs.has(hash)) return guest.blobs.get(hash)
  // A stream the node closed at once (a connection being replaced) is asked once more.
  const fetch = () => protocol.fetchBlob(guest.route, guest.envelope, fromHex(hash), len)
  const bytes = await fetch().catch(() => new Promise(resolve => setTimeout(resolve, 100)).then(fetch))
  if (hex(guest.core(OP.HASH, [bytes])[0]) !== hash) throw new Error('the sender sent a file that is not the one the document names')
  guest.blobs.set(hash, bytes)
  return bytes
}

// Syncs, then does what is due (join, seal) and shows where things stand.
async function refresh () {
  // While the person types the texted code, nothing asks the node: a look
  // without the code would have it text another one.
  if ($('panel').dataset.form === 'code') return
  if (guest.busy) { guest.again = true; return }
  guest.busy = true
  try {
    do {
      guest.again = false
      const answer = await sync()
      if (answer.kind === 'code') return askForCode(answer)
      if (answer.kind === 'unknown') {
        say('The sender does not recognise this invitation: it was used, has expired, or the document was withdrawn. Ask the sender for a new link.', 'bad')
        return
      }
      let summary
      try {
        summary = JSON.parse(new TextDecoder().decode(guest.core(OP.SUMMARY, [guest.envelope, guest.record.publicKey])[0]))
      } catch (e) {
        say('The document has not arrived yet…')
        return
      }
      guest.summary = summary
      if (summary.me == null && ['awaiting', 'draft'].includes(summary.status)) {
        await join(summary)
        performance.mark('joined')
        guest.again = true
        continue
      }
      if (summary.to_seal) {
        await seal(summary)
        guest.again = true
        continue
      }
      await show(summary)
    } while (guest.again)
  } catch (e) {
    const known = e.message.startsWith('This page stopped') || e.message.startsWith('this document cannot be shown')
    say(known ? e.message : `${unreachable} (${e.message}) This page tries again by itself.`, 'bad')
  } finally {
    guest.busy = false
  }
}

async function signed (toSign) {
  return store.sign(guest.record.key, toSign)
}

async function join (summary) {
  say('Joining the document…')
  const { core, record } = guest
  const party = summary.parties[record.slot]
  const since = u64(Date.now())
  const [tbs] = core(OP.CERTIFICATE, [record.publicKey, party.name, party.contact, since])
  const [certificate] = core(OP.CERTIFICATE_SIGNED, [record.publicKey, party.name, party.contact, since, await signed(tbs)])
  const [body, toSign] = core(OP.JOIN, [guest.payload, record.envelope, Uint8Array.of(record.slot), u64(record.expiresAt), record.publicKey, clock(), certificate])
  core(OP.FINISH, [record.envelope, body, await signed(toSign)])
}

// Shows the person their step as everyone will see it, and seals it: the
// PDF signature covers exactly these bytes.
async function seal (summary) {
  say('Adding your PDF signature…')
  const { core, record } = guest
  const files = await Promise.all(summary.needed.map(blob))
  const [file, message] = core(OP.STEP, [record.envelope, record.publicKey, ...files])
  await showPages($('pages'), file, [])
  guest.shownDocument = 'step'
  const [body, toSign] = core(OP.SEAL, [record.envelope, record.publicKey, clock(), await signed(message)])
  core(OP.FINISH, [record.envelope, body, await signed(toSign)])
}

function fieldsOf (summary) {
  // Fields already filled show their values, not an outline.
  return summary.fields.filter(f => !f.has_image && f.text == null)
    .map(f => ({ page: f.page, rect: f.rect, label: f.label, mine: f.assignee === summary.me }))
}

async function show (summary) {
  $('title').textContent = summary.title
  document.title = `Sign “${summary.title}”`
  showParties(summary)
  const panel = $('panel')
  const waitingOn = summary.parties.filter(p => summary.awaiting.includes(p.slot) && p.slot !== summary.me).map(p => p.name)
  if (summary.status === 'completed') {
    await showCompleted(summary)
    return
  }
  // The document as it stands first: the source the nodes prepared (checked
  // by the core), with every step signed so far, every field outlined. A
  // document that cannot be shown gets no Sign button.
  const shown = `${summary.parties.filter(p => p.sealed).length}`
  if (guest.shownDocument !== shown) {
    const files = await Promise.all(summary.needed.map(blob))
    const [file] = guest.core(OP.VIEW, [guest.envelope, ...files])
    await showPages($('pages'), file, fieldsOf(summary))
    guest.shownDocument = shown
  }
  // Each state draws the panel once (a refresh every few seconds must not
  // wipe what the person is typing).
  const state = (name, draw) => {
    if (panel.dataset.form !== name) {
      draw()
      panel.dataset.form = name
    }
  }
  if (summary.status === 'declined' || summary.status === 'voided') {
    say(summary.status === 'declined' ? 'This document was declined.' : 'The sender withdrew this document.', 'bad')
    state('ended', () => panel.replaceChildren(el('p', {}, `Reason: ${summary.ended ?? '—'}`)))
  } else if (summary.my_turn) {
    say('Your turn to sign.', 'ok')
    state('shown', () => {
      showForm(summary)
      panel.append(declineControl())
    })
  } else if (summary.me != null && summary.parties[summary.me].signed_at_ms != null) {
    say(`You signed. Waiting for ${waitingOn.join(', ') || 'the others'}; this page updates by itself.`)
    state('signed', () => panel.replaceChildren(el('p', {}, 'You will be able to download the signed PDF here once everyone has signed.')))
  } else {
    say(`Waiting for ${waitingOn.join(', ') || 'the others'} to sign first. This page updates by itself when it is your turn.`)
    state('waiting', () => panel.replaceChildren(el('p', {}, 'You can read the document below meanwhile.'), ...(summary.me != null ? [declineControl()] : [])))
  }
}

// "Decline to sign", with the reason everyone will read; it ends the document.
function declineControl () {
  const box = el('div', { className: 'decline' })
  const open = el('button', { type: 'button', className: 'link', id: 'decline' }, 'Decline to sign')
  open.addEventListener('click', () => {
    const reason = el('textarea', { id: 'decline-reason', rows: 3 })
    const error = el('p', { className: 'bad', role: 'alert' })
    const confirm = el('button', { type: 'submit', id: 'decline-confirm' }, 'Decline')
    const form = el('form', { id: 'decline-form' }, el('label', { htmlFor: 'decline-reason' }, 'Why do you decline? Everyone who signs reads it.'), reason, error, confirm)
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      confirm.disabled = true
      try {
        const { core, record } = guest
        const [body, toSign] = core(OP.DECLINE, [record.envelope, record.publicKey, clock(), reason.value])
        core(OP.FINISH, [record.envelope, body, await signed(toSign)])
        record.doc = core(OP.SAVE)[0]
        await store.save(guest.payload, record)
        window.scrollTo({ top: 0 })
        refresh()
      } catch (err) {
        error.textContent = err.message
        confirm.disabled = false
      }
    })
    box.replaceChildren(form)
    reason.focus()
  })
  box.append(open)
  return box
}

// A time on this device's clock, with its offset: "1 Dec 2026, 18:30 GMT+3".
// (Intl refuses dateStyle or timeStyle beside timeZoneName: the parts are named.)
// Browsers older than 2021 know no 'shortOffset': they show the zone's short name.
function localTime (ms) {
  const parts = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
  try {
    return new Date(ms).toLocaleString(undefined, { ...parts, timeZoneName: 'shortOffset' })
  } catch {
    return new Date(ms).toLocaleString(undefined, { ...parts, timeZoneName: 'short' })
  }
}

function showParties (summary) {
  const list = el('ol', { className: 'parties' })
  for (const p of summary.parties) {
    const done = p.signed_at_ms != null ? `signed ${localTime(p.signed_at_ms)}` : summary.awaiting.includes(p.slot) ? 'to sign now' : p.role === 'viewer' ? 'reads' : 'signs later'
    list.append(el('li', {}, el('strong', {}, p.name), ` · ${done}`, p.slot === summary.me ? ' (you)' : ''))
  }
  $('parties').replaceChildren(el('h2', {}, 'Signers, in order'), list)
}

function showForm (summary) {
  const panel = $('panel')
  const mine = summary.fields.filter(f => f.assignee === summary.me)
  const form = el('form', { id: 'sign-form', noValidate: true })
  const inputs = []
  let pad = null
  for (const field of mine) {
    const id = `field-${field.index}`
    if (field.kind === 'signature') {
      const box = el('div', { id })
      form.append(el('label', { htmlFor: 'pad' }, field.label), box)
      pad = { field, pad: signaturePad(box) }
    } else if (field.kind === 'stamp') {
      const input = el('input', { id, type: 'file', accept: 'image/png,image/jpeg' })
      form.append(el('label', { htmlFor: id }, `${field.label}${field.required ? '' : ' (optional)'}`), input)
      inputs.push({ field, input, image: true })
    } else if (field.kind === 'date') {
      form.append(el('p', { className: 'note' }, `${field.label}: today's date, filled in when you sign.`))
    } else {
      const input = field.kind === 'company_details' ? el('textarea', { id, rows: 3 }) : el('input', { id, type: 'text', autocomplete: 'on' })
      input.required = field.required
      form.append(el('label', { htmlFor: id }, field.label), input)
      inputs.push({ field, input, image: false })
    }
  }
  const email = el('input', { id: 'email', type: 'email', autocomplete: 'email', inputMode: 'email' })
  form.append(el('label', { htmlFor: 'email' }, 'Email me the signed PDF (optional)'), email,
    el('p', { className: 'note' }, 'The sender\'s computer emails it to you once everyone has signed. The other signers\' apps see the address too.'))
  const error = el('p', { id: 'form-error', className: 'bad', role: 'alert' })
  const button = el('button', { type: 'submit', id: 'sign-button' }, 'Sign')
  form.append(error, button)
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    error.textContent = ''
    const values = []
    for (const { field, input, image } of inputs) {
      if (image) {
        const file = input.files[0]
        if (file) values.push([`i${field.index}`, new Uint8Array(await file.arrayBuffer())])
        else if (field.required) { error.textContent = `Add your ${field.label.toLowerCase()}.`; return }
      } else if (input.value.trim()) {
        values.push([`t${field.index}`, input.value])
      } else if (field.required) {
        error.textContent = `Fill in ${field.label}.`
        input.focus()
        return
      }
    }
    if (pad) {
      const bytes = await pad.pad.bytes()
      if (!bytes && pad.field.required) { error.textContent = 'Draw, type or upload your signature.'; return }
      if (bytes) values.push([`i${pad.field.index}`, bytes])
    }
    button.disabled = true
    try {
      if (email.value.trim()) await askForEmail(email.value.trim())
      await signWith(values)
      refresh()
    } catch (err) {
      error.textContent = err.message
      button.disabled = false
    }
  })
  panel.replaceChildren(el('h2', {}, 'Your signature'), form)
}

// The email card: signed by the guest's key, it asks the sender's node to
// email the final PDF (a guest has no node of its own to tell it).
async function askForEmail (address) {
  const { core, record } = guest
  const [toSign] = core(OP.EMAIL, [address])
  core(OP.SET_EMAIL, [record.publicKey, address, await signed(toSign)])
}

async function signWith (values) {
  const { core, record } = guest
  const strings = []
  for (const [key, value] of values) {
    const head = new Uint8Array(3)
    head[0] = key.charCodeAt(0)
    new DataView(head.buffer).setUint16(1, Number(key.slice(1)))
    strings.push(head, value)
    if (key[0] === 'i') record.images[hex(core(OP.HASH, [value])[0])] = value
  }
  const [body, toSign] = core(OP.SIGN, [record.envelope, record.publicKey, clock(), ...strings])
  core(OP.FINISH, [record.envelope, body, await signed(toSign)])
  record.doc = core(OP.SAVE)[0]
  await store.save(guest.payload, record)
}

function askForCode (answer) {
  const panel = $('panel')
  // A code the node refused is not sent again.
  if (answer.answer !== 'sent') guest.code = null
  const why = {
    sent: 'The sender asked to confirm your phone: we texted you a 6-digit code.',
    wrong: `That code is wrong: ${answer.left} tries left.`,
    expired: 'That code has expired. Ask for a new one.',
    locked: 'Too many wrong codes: this invitation is locked. Ask the sender for a new link.'
  }[answer.answer] ?? 'A code is needed.'
  say(why, answer.answer === 'sent' ? '' : 'bad')
  if (answer.answer === 'locked') { panel.replaceChildren(); return }
  const input = el('input', { id: 'code', inputMode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxLength: 6 })
  const button = el('button', { type: 'submit' }, answer.answer === 'expired' ? 'Text me a new code' : 'Continue')
  const form = el('form', { id: 'code-form' }, el('label', { htmlFor: 'code' }, 'Code from the text message'), input, button)
  if (answer.answer === 'expired') input.hidden = true
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    guest.code = answer.answer === 'expired' ? null : Number(input.value.trim())
    delete panel.dataset.form
    refresh()
  })
  panel.replaceChildren(form)
  panel.dataset.form = 'code'
}

async function showCompleted (summary) {
  const panel = $('panel')
  if (panel.dataset.done) return
  say('Signed by everyone.', 'ok')
  const files = await Promise.all(summary.needed.map(blob))
  const [pdf, reportBytes] = guest.core(OP.FINAL, [guest.envelope, ...files])
  const report = JSON.parse(new TextDecoder().decode(reportBytes))
  const valid = report.verdict === 'valid'
  const url = URL.createObjectURL(new Blob([pdf], { type: 'application/pdf' }))
  const name = `${summary.title.replace(/[^\p{L}\p{N}-]+/gu, '-').replace(/^-|-$/g, '') || 'document'}-signed.pdf`
  await showPages($('pages'), pdf, [])
  panel.dataset.done = 'yes'
  panel.replaceChildren(
    el('div', { id: 'verdict', className: `verdict ${valid ? 'valid' : 'invalid'}`, role: 'alert' }, valid ? `✓ Valid: ${report.summary}` : `✗ Not valid: ${report.summary}`),
    el('p', {}, el('a', { id: 'download', className: 'button', href: url, download: name }, 'Download the signed PDF')),
    el('p', { className: 'note' }, 'Every signer has this same file, byte for byte. Anyone can check it at ', el('a', { href: '/' }, 'the verifier'), '.')
  )
}

// One tab per invitation: two would each sign and keep their own copy.
async function startOnce () {
  // Asked for, not waited on: a browser may ask the person first.
  navigator.storage?.persist?.().catch(() => false)
  if (!navigator.locks) return start()
  return navigator.locks.request(`countersign-guest-${location.hash}`, { ifAvailable: true }, async (lock) => {
    if (!lock) {
      say('This invitation is already open in another tab of this browser: continue there.', 'bad')
      return
    }
    await start()
    // Held while the page lives.
    await new Promise(() => {})
  })
}

startOnce().catch(e => {
  const old = e.name === 'NotSupportedError' || /Ed25519|Algorithm/i.test(e.message)
  say(old ? 'This browser is too old to sign here (it cannot make an Ed25519 key). Please update it, or open the link in another browser.'
    : `This page could not start: ${e.message}`, 'bad')
})
