// The guest's libp2p node: its identity is the person's WebCrypto key, so
// the inviter's node sees the party's own key at the other end, exactly as
// with a node. It reaches the inviter through the relay over WebSocket.

import { createLibp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { SYNC, BLOB, readFrame, writeFrame } from './protocol.js'

// js-libp2p signs with `sign` and reads `publicKey`; the private half is
// never read (`raw` throws, and nothing on the path asks for it).
function webCryptoKey (pair, publicKeyBytes) {
  const publicKey = publicKeyFromRaw(publicKeyBytes)
  const key = {
    type: 'Ed25519',
    publicKey,
    get raw () { throw new Error('the key stays in WebCrypto') },
    equals (other) { return other === key },
    async sign (data, options) {
      options?.signal?.throwIfAborted()
      const bytes = data instanceof Uint8Array ? data : data.subarray()
      return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, bytes))
    }
  }
  return key
}

export function peerIdOf (publicKeyBytes) {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKeyBytes))
}

// `inviter`: the only peer whose requests are answered (the sender's node).
export async function startNode (pair, publicKeyBytes, inviter, { onSync, onBlob }) {
  const node = await createLibp2p({
    privateKey: webCryptoKey(pair, publicKeyBytes),
    addresses: { listen: [] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Nodes close connections whose peer does not answer pings.
    services: { identify: identify(), ping: ping() },
    // The relay is the verifier's own host (or loopback in tests); the
    // browser's default gater refuses ws:// and private addresses.
    connectionGater: { denyDialMultiaddr: async () => false }
  })
  const fromInviter = (connection) => connection?.remotePeer?.equals(inviter)
  await node.handle(SYNC, async (stream, connection) => {
    if (!fromInviter(connection)) { stream.abort(new Error('not the inviter')); return }
    try {
      const request = await readFrame(stream)
      await writeFrame(stream, await onSync(request))
    } catch (e) {
      stream.abort(e)
    }
  }, { runOnLimitedConnection: true })
  await node.handle(BLOB, (stream, connection) => {
    if (!fromInviter(connection)) { stream.abort(new Error('not the inviter')); return }
    return onBlob(stream).catch(e => stream.abort(e))
  }, { runOnLimitedConnection: true })
  return node
}

// The one connection to the inviter's node, through the relay: every
// stream goes on it (a dial per stream would open a circuit per stream,
// each costing the relay a slot); it is dialled again once it closes.
export class Route {
  constructor (node, relay, inviterPeerId) {
    this.node = node
    this.address = multiaddr(`${relay}/p2p-circuit/p2p/${inviterPeerId}`)
    this.connection = null
  }

  async stream (protocol) {
    if (this.connection?.status !== 'open') {
      this.connection = await this.node.dial(this.address)
    }
    return this.connection.newStream(protocol, { runOnLimitedConnection: true })
  }
}

export async function ask (route, body) {
  const stream = await route.stream(SYNC)
  await writeFrame(stream, body)
  return readFrame(stream)
}
