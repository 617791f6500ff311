// The nodes' protocols, as the guest speaks them (node/src/net/protocol.rs
// and blob_stream.rs): /countersign/sync/5 (one framed request, one framed
// response) and /countersign/blob/2 (one blob per stream).

export const SYNC = '/countersign/sync/5'
export const BLOB = '/countersign/blob/2'
const MAX_FRAME = 8 * 1024 * 1024 + 64

class Writer {
  constructor () { this.parts = []; this.len = 0 }
  bytes (b) { this.parts.push(b); this.len += b.length; return this }
  u8 (n) { return this.bytes(Uint8Array.of(n)) }
  u32 (n) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return this.bytes(b) }
  u64 (n) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return this.bytes(b) }
  sized (b) { return this.u32(b.length).bytes(b) }
  finish () { const out = new Uint8Array(this.len); let at = 0; for (const p of this.parts) { out.set(p, at); at += p.length } return out }
}

class Reader {
  constructor (bytes) { this.bytes = bytes; this.at = 0 }
  take (n) {
    if (this.at + n > this.bytes.length) throw new Error('the node sent a message cut short')
    const out = this.bytes.subarray(this.at, this.at + n); this.at += n; return out
  }
  u8 () { return this.take(1)[0] }
  u32 () { const b = this.take(4); return new DataView(b.buffer, b.byteOffset, 4).getUint32(0) }
  u64 () { const b = this.take(8); return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0)) }
  sized () { return this.take(this.u32()) }
  done () { if (this.at !== this.bytes.length) throw new Error('the node sent more than a message') }
}

export function syncRequest ({ envelope, invite, code, message }) {
  const w = new Writer().u8(1).bytes(envelope)
  if (invite) w.u8(1).u8(invite.slot).bytes(invite.proof); else w.u8(0)
  if (code != null) w.u8(1).u32(code); else w.u8(0)
  return w.sized(message ?? new Uint8Array()).finish()
}

export function lookupRequest ({ inviteKey, proof }) {
  return new Writer().u8(2).bytes(inviteKey).bytes(proof).finish()
}

export function decodeRequest (bytes) {
  const r = new Reader(bytes)
  const tag = r.u8()
  if (tag !== 1) return { kind: 'other' }
  const envelope = r.take(32)
  const invite = r.u8() === 1 ? { slot: r.u8(), proof: r.take(64) } : null
  const code = r.u8() === 1 ? r.u32() : null
  const message = r.sized()
  r.done()
  return { kind: 'sync', envelope, invite, code, message }
}

export function syncResponse (message) {
  const w = new Writer().u8(1)
  return (message ? w.u8(1).sized(message) : w.u8(0)).finish()
}

export const UNKNOWN = Uint8Array.of(3)

export function decodeResponse (bytes) {
  const r = new Reader(bytes)
  let response
  switch (r.u8()) {
    case 1: response = { kind: 'sync', message: r.u8() === 1 ? r.sized() : null }; break
    case 3: response = { kind: 'unknown' }; break
    case 4: {
      const answer = r.u8()
      response = { kind: 'code', answer: ['sent', 'wrong', 'expired', 'locked'][answer] ?? 'unknown', left: answer === 1 ? r.u8() : null }
      break
    }
    case 5: response = { kind: 'found', envelope: r.take(32), slot: r.u8(), expiresAt: r.u64() }; break
    default: throw new Error('the node sent an answer this page does not know')
  }
  r.done()
  return response
}

function frame (body) {
  return new Writer().u32(body.length).bytes(body).finish()
}

async function readAll (stream, max) {
  const chunks = []
  let len = 0
  for await (const chunk of stream) {
    const bytes = chunk.subarray()
    len += bytes.length
    if (len > max) throw new Error('the node sent more than a message may hold')
    chunks.push(bytes)
  }
  const out = new Uint8Array(len)
  let at = 0
  for (const c of chunks) { out.set(c, at); at += c.length }
  return out
}

export async function writeFrame (stream, body) {
  if (!stream.send(frame(body))) await stream.onDrain()
  await stream.close()
}

export async function readFrame (stream) {
  const bytes = await readAll(stream, MAX_FRAME + 4)
  if (bytes.length < 4) throw new Error('the node closed the stream without an answer')
  const len = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
  if (bytes.length !== 4 + len) throw new Error('the node sent a message of the wrong length')
  return bytes.subarray(4)
}

// The largest file a node stores (node/src/blobs.rs: MAX_BLOB).
export const MAX_BLOB = 256 * 1024 * 1024

// Asks `peer` for a blob of `envelope`; resolves to its bytes (checked by the caller).
export async function fetchBlob (route, envelope, hash, expectedLength) {
  if (!(expectedLength >= 0 && expectedLength <= MAX_BLOB)) throw new Error('the document names a file larger than any node keeps')
  const stream = await route.stream(BLOB)
  const ask = new Writer().bytes(envelope).bytes(hash).u64(0).finish()
  if (!stream.send(ask)) await stream.onDrain()
  await stream.close()
  const bytes = await readAll(stream, expectedLength + 9)
  if (bytes[0] !== 1) throw new Error('the node does not have this file')
  const total = Number(new DataView(bytes.buffer, bytes.byteOffset + 1, 8).getBigUint64(0))
  if (total !== expectedLength || bytes.length !== 9 + total) throw new Error('the node sent a file of the wrong length')
  return bytes.subarray(9)
}

// Serves one blob ask on `stream` from `find(envelope, hash)` (bytes or null).
export async function serveBlob (stream, find) {
  const chunks = []
  let len = 0
  for await (const chunk of stream) {
    const bytes = chunk.subarray()
    chunks.push(bytes)
    len += bytes.length
    if (len >= 72) break
  }
  const ask = new Uint8Array(len)
  let at = 0
  for (const c of chunks) { ask.set(c, at); at += c.length }
  if (len < 72) { stream.abort(new Error('short ask')); return }
  const r = new Reader(ask.subarray(0, 72))
  const envelope = r.take(32)
  const hash = r.take(32)
  const offset = r.u64()
  const bytes = await find(envelope, hash)
  if (!bytes || offset > bytes.length) {
    stream.send(Uint8Array.of(0))
    await stream.close()
    return
  }
  const header = new Writer().u8(1).u64(bytes.length).finish()
  if (!stream.send(header)) await stream.onDrain()
  if (!stream.send(bytes.subarray(offset))) await stream.onDrain()
  await stream.close()
}
