/** @module shared/ids  Identifier formats used by AWS. */
import { randomBytes, randomUUID } from 'node:crypto'

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function base32(n: number): string {
  const bytes = randomBytes(n)
  let out = ''
  for (const b of bytes) out += B32[b % 32]
  return out
}

export const newRequestId = (): string => randomUUID()
export const newEventId = (): string => randomUUID()
/** 20 characters, like AKIA... access key IDs. */
export const newAccessKeyId = (): string => 'AKIA' + base32(16)
export const newSecretAccessKey = (): string =>
  randomBytes(30).toString('base64').replace(/[+/=]/g, 'x').slice(0, 40)
/** Unique IDs of IAM users (AIDA...) and roles (AROA...). */
export const newUserId = (): string => 'AIDA' + base32(17)
export const newRoleId = (): string => 'AROA' + base32(17)
export const newAccountId = (): string => {
  const d = randomBytes(12)
  let s = String(1 + (d[0]! % 9))
  for (let i = 1; i < 12; i++) s += String(d[i]! % 10)
  return s
}
