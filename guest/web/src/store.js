// What the guest keeps in this browser, per invitation (IndexedDB): its key
// (a non-extractable WebCrypto key: the browser can sign with it, nobody can
// read it), what the invitation opens, the envelope's document, and the
// images the person gave. Opening the link again continues from here.

const DB = 'countersign-guest'
const STORE = 'invitations'

function open () {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1)
    request.onupgradeneeded = () => request.result.createObjectStore(STORE)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

async function transact (mode, work) {
  const db = await open()
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode)
    const request = work(tx.objectStore(STORE))
    tx.oncomplete = () => { db.close(); resolve(request?.result) }
    tx.onerror = () => { db.close(); reject(tx.error) }
  })
}

export function load (id) {
  return transact('readonly', store => store.get(id))
}

export function save (id, record) {
  return transact('readwrite', store => store.put(record, id))
}

// The guest's key for this invitation: made once, kept, never exportable.
export async function keyFor (id) {
  const kept = await load(id)
  if (kept?.key) return kept
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))
  const record = { key: pair, publicKey, images: {} }
  await save(id, record)
  return record
}

export async function sign (pair, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, bytes))
}
