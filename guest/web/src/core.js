// The guest's core (guest/, compiled to WebAssembly): the same log, rules,
// rendering and verification as every node. Calls cross as byte strings:
// a count, then each string with its length (u32 big-endian).

export const OP = {
  OPEN: 1, RECONNECTED: 2, SYNC_OUT: 3, SYNC_IN: 4, SAVE: 5, SUMMARY: 6, OPEN_LINK: 7, INVITE_PROOF: 8,
  CERTIFICATE: 9, CERTIFICATE_SIGNED: 10, JOIN: 11, SIGN: 12, SEAL: 13, STEP: 14, FINISH: 15, FINAL: 16, HASH: 17, VIEW: 18, EMAIL: 19, SET_EMAIL: 20, DECLINE: 21
}

export function encodeStrings (strings) {
  let len = 4
  for (const s of strings) len += 4 + s.length
  const out = new Uint8Array(len)
  const view = new DataView(out.buffer)
  view.setUint32(0, strings.length)
  let at = 4
  for (const s of strings) {
    view.setUint32(at, s.length)
    out.set(s, at + 4)
    at += 4 + s.length
  }
  return out
}

export function decodeStrings (bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint32(0)
  const strings = []
  let at = 4
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(at)
    strings.push(bytes.subarray(at + 4, at + 4 + len))
    at += 4 + len
  }
  return strings
}

export async function loadCore (url, integrity) {
  const response = await fetch(url, { integrity })
  const { instance } = await WebAssembly.instantiateStreaming(response, {})
  return coreOf(instance)
}

// The core from the wasm file's bytes (tests under Node.js).
export async function coreFromBytes (bytes) {
  const { instance } = await WebAssembly.instantiate(bytes, {})
  return coreOf(instance)
}

function coreOf (instance) {
  const { memory, input, call, output } = instance.exports
  let stopped = null
  return function run (op, strings = []) {
    // A trap (a panic inside: the core aborts) leaves the core unusable;
    // say so for good rather than call into it again.
    if (stopped) throw stopped
    try {
      return runOnce(op, strings)
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        stopped = new Error('This page stopped: it met something it cannot read. Reload the page; if it happens again, tell the sender.')
        throw stopped
      }
      throw e
    }
  }
  function runOnce (op, strings) {
    const bytes = encodeStrings(strings.map(asBytes))
    const at = input(bytes.length)
    new Uint8Array(memory.buffer, at, bytes.length).set(bytes)
    const n = call(op)
    const out = new Uint8Array(memory.buffer, output(), Math.abs(n)).slice()
    if (n < 0) throw new Error(new TextDecoder().decode(out))
    return decodeStrings(out)
  }
}

export function asBytes (value) {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return new TextEncoder().encode(value)
  throw new Error('a string or bytes')
}

export function u64 (n) {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

// The time now and this device's offset from UTC, as the core reads them:
// Unix milliseconds (8 bytes) then minutes east of UTC (2 bytes, signed).
export function clock () {
  const out = new Uint8Array(10)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(Date.now()))
  view.setInt16(8, -new Date().getTimezoneOffset())
  return out
}

export function readU64 (bytes) {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0))
}

export function hex (bytes) {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('')
}

export function fromHex (text) {
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16)
  return out
}
