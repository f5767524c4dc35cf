/**
 * @module storage/duckdb/row-payload
 * The per-event values a record needs besides its interned fragments, packed for the row store
 * (LMDB, keyed by seq): eventID and requestID as 16 bytes when they are lower-case UUIDs, an IPv4
 * source address as 4 bytes, ids of the userAgent / userIdentity / skeleton fragments as varints,
 * and eventTime only when it is not the canonical form of the row's time. About 45 bytes.
 */

export interface Payload {
  eventId: string | null
  requestId: string | null
  sourceIp: string | null
  eventTime: string | null
  uaId: number
  whoId: number
  skelId: number
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

const F_EVENT_UUID = 1
const F_REQ_UUID = 2
const F_IPV4 = 4
const F_TIME = 8
const F_EVENT_NULL = 16
const F_REQ_NULL = 32
const F_IP_NULL = 64

class Writer {
  buf = Buffer.allocUnsafe(256)
  pos = 0
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
      this.buf.copy(b, 0, 0, this.pos)
      this.buf = b
    }
  }
  varint(n: number): void {
    this.ensure(10)
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.pos++] = n
  }
  str(s: string): void {
    const len = Buffer.byteLength(s)
    this.varint(len)
    this.ensure(len)
    this.pos += this.buf.write(s, this.pos)
  }
  uuid(s: string): void {
    this.ensure(16)
    this.buf.write(s.replaceAll('-', ''), this.pos, 'hex')
    this.pos += 16
  }
}

const w = new Writer()

export function encodePayload(p: Payload): Buffer {
  w.pos = 1
  let flags = 0
  if (p.eventId === null) flags |= F_EVENT_NULL
  else if (UUID_RE.test(p.eventId)) {
    flags |= F_EVENT_UUID
    w.uuid(p.eventId)
  } else w.str(p.eventId)
  if (p.requestId === null) flags |= F_REQ_NULL
  else if (UUID_RE.test(p.requestId)) {
    flags |= F_REQ_UUID
    w.uuid(p.requestId)
  } else w.str(p.requestId)
  if (p.sourceIp === null) flags |= F_IP_NULL
  else if (IPV4_RE.test(p.sourceIp)) {
    flags |= F_IPV4
    w.ensure(4)
    for (const part of p.sourceIp.split('.')) w.buf[w.pos++] = Number(part)
  } else w.str(p.sourceIp)
  if (p.eventTime !== null) {
    flags |= F_TIME
    w.str(p.eventTime)
  }
  w.varint(p.uaId)
  w.varint(p.whoId)
  w.varint(p.skelId)
  w.buf[0] = flags
  return Buffer.from(w.buf.subarray(0, w.pos))
}

export function decodePayload(b: Uint8Array): Payload {
  let pos = 1
  const flags = b[0]!
  const varint = (): number => {
    let n = 0
    let mul = 1
    for (;;) {
      const x = b[pos++]!
      n += (x & 0x7f) * mul
      if (x < 0x80) return n
      mul *= 0x80
    }
  }
  const str = (): string => {
    const len = varint()
    const s = Buffer.from(b.buffer, b.byteOffset + pos, len).toString()
    pos += len
    return s
  }
  const uuid = (): string => {
    const h = Buffer.from(b.buffer, b.byteOffset + pos, 16).toString('hex')
    pos += 16
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }
  const eventId = flags & F_EVENT_NULL ? null : flags & F_EVENT_UUID ? uuid() : str()
  const requestId = flags & F_REQ_NULL ? null : flags & F_REQ_UUID ? uuid() : str()
  let sourceIp: string | null = null
  if (!(flags & F_IP_NULL)) {
    if (flags & F_IPV4) {
      sourceIp = `${b[pos]}.${b[pos + 1]}.${b[pos + 2]}.${b[pos + 3]}`
      pos += 4
    } else sourceIp = str()
  }
  const eventTime = flags & F_TIME ? str() : null
  const uaId = varint()
  const whoId = varint()
  const skelId = varint()
  return { eventId, requestId, sourceIp, eventTime, uaId, whoId, skelId }
}
