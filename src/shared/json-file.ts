/**
 * @module shared/json-file
 * Crash-safe state files: write a uniquely named temp file, fsync, rename, fsync the directory.
 * Writes to one path are applied in call order (the content is taken at the call), so two
 * concurrent saves can neither share a temp file nor leave the older state on disk.
 */
import { randomUUID } from 'node:crypto'
import { open, readFile, rename, mkdir, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

const queues = new Map<string, Promise<void>>()

export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export function writeJsonFileAtomic(path: string, value: unknown, mode = 0o644): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode)
}

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const previous = queues.get(path) ?? Promise.resolve()
  const mine = previous.then(
    () => replace(path, data, mode),
    () => replace(path, data, mode),
  )
  const tail = mine.catch(() => undefined)
  queues.set(path, tail)
  void tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path)
  })
  return mine
}

async function replace(path: string, data: string | Buffer, mode: number): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`
  const fh = await open(tmp, 'w', mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } catch (err) {
    await fh.close()
    await unlink(tmp).catch(() => undefined)
    throw err
  }
  await fh.close()
  await rename(tmp, path)
  const dh = await open(dir, 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}
