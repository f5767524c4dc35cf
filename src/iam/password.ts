/**
 * @module iam/password
 * Console passwords and TOTP MFA. Passwords are stored as scrypt hashes
 * (`scrypt$N$r$p$salt$hash`, base64url parts) and compared in constant time; TOTP codes are
 * RFC 6238 (SHA-1, 6 digits, 30 s), checked with `otpauth` allowing one step of clock drift.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'

const N = 16384
const R = 8
const P = 1
const KEY_LEN = 32

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((ok, fail) =>
    scrypt(password, salt, KEY_LEN, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? fail(err) : ok(key),
    ),
  )
}

/** A new scrypt hash of the password, with a random 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, { N, r: R, p: P })
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/** Whether the password matches the stored hash; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20) return false
  const salt = Buffer.from(parts[4]!, 'base64url')
  const expected = Buffer.from(parts[5]!, 'base64url')
  if (expected.length !== KEY_LEN) return false
  const actual = await scryptAsync(password, salt, { N: n, r, p })
  return timingSafeEqual(actual, expected)
}

/** What a password must be: 8–128 characters, at least three of upper, lower, digit, symbol. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 8 || password.length > 128)
    return 'The password must be 8 to 128 characters long.'
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(password))
  if (classes.length < 3)
    return 'The password must contain at least three of: lowercase letters, uppercase letters, digits, symbols.'
  return undefined
}

/** A random password that satisfies `passwordProblem`: 20 characters from four classes. */
export function generatePassword(): string {
  const sets = ['abcdefghijkmnopqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '!#%+-=@^_~']
  const all = sets.join('')
  const bytes = randomBytes(20)
  const pick = (set: string, b: number) => set[b % set.length]!
  const chars = [...bytes].map((b, i) => pick(i < 4 ? sets[i]! : all, b))
  // Shuffle so that the guaranteed classes are not always first.
  const order = randomBytes(20)
  for (let i = chars.length - 1; i > 0; i--) {
    const j = order[i]! % (i + 1)
    ;[chars[i], chars[j]] = [chars[j]!, chars[i]!]
  }
  return chars.join('')
}

/** A new random TOTP secret (160 bits), base32. */
export const newTotpSecret = (): string => new Secret({ size: 20 }).base32

function totp(secret: string, label: string): TOTP {
  return new TOTP({
    issuer: 'OpenTrail',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: Secret.fromBase32(secret),
  })
}

/** The otpauth:// URI an authenticator app scans. */
export const totpUri = (secret: string, label: string): string => totp(secret, label).toString()

/** The code for a time (tests and the CLI's check). */
export const totpCode = (secret: string, at: number): string =>
  totp(secret, '').generate({ timestamp: at })

/** Whether `code` is valid at `at` (ms), allowing one 30-second step either side. */
export function verifyTotp(secret: string, code: string, at: number): boolean {
  if (!/^\d{6}$/.test(code)) return false
  return totp(secret, '').validate({ token: code, timestamp: at, window: 1 }) !== null
}
