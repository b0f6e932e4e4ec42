// A fake WebRTC for Node: enough of RTCPeerConnection for simple-peer (trickle: false) to
// produce an offer or an answer, so bittorrent-tracker's Client sends real announces with
// offers and answers. No connection is ever made: the data channel never opens.
let counter = 0

function fakeSdp (type, id) {
  const hex = (id * 2654435761 >>> 0).toString(16).padStart(8, '0')
  return [
    'v=0',
    `o=- ${4611731400430051000 + id} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=candidate:${id} 1 udp 2113937151 ${hex}-0000-4000-8000-000000000000.local 54321 typ host generation 0 network-cost 999`,
    `a=ice-ufrag:${hex.slice(0, 4)}`,
    `a=ice-pwd:${hex}${hex}${hex}`,
    'a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CB:A0:7B:2C:6E:4A:0B:1F:63:55:E6:9E:32:1B:D4:37:F6:72:5C:7D',
    `a=setup:${type === 'offer' ? 'actpass' : 'active'}`,
    'a=mid:0',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
    ''
  ].join('\r\n')
}

export class RTCSessionDescription {
  constructor (init) {
    this.type = init.type
    this.sdp = init.sdp
  }
}

export class RTCIceCandidate {
  constructor (init) {
    Object.assign(this, init)
  }
}

export class RTCPeerConnection {
  constructor (config) {
    this.config = config
    this.id = ++counter
    this.localDescription = null
    this.remoteDescription = null
    this.signalingState = 'stable'
    this.iceGatheringState = 'new'
    this.iceConnectionState = 'new'
    this.connectionState = 'new'
  }

  createDataChannel (label) {
    return { label, readyState: 'connecting', bufferedAmount: 0, close () {}, send () {} }
  }

  async createOffer () { return { type: 'offer', sdp: fakeSdp('offer', this.id) } }
  async createAnswer () { return { type: 'answer', sdp: fakeSdp('answer', this.id) } }

  async setLocalDescription (description) {
    this.localDescription = new RTCSessionDescription(description)
    // Gathering "completes" at once: simple-peer then signals the description.
    setTimeout(() => {
      this.iceGatheringState = 'complete'
      if (this.onicecandidate) this.onicecandidate({ candidate: null })
    }, 0)
  }

  async setRemoteDescription (description) {
    this.remoteDescription = new RTCSessionDescription(description)
  }

  async addIceCandidate () {}
  async getStats () { return new Map() }
  close () {}
  addEventListener () {}
  removeEventListener () {}
}

export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
