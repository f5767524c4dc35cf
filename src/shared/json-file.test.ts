import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { readJsonFile, writeJsonFileAtomic } from './json-file.js'

test('concurrent saves to one file land in call order and leave no temp files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'json-file-'))
  try {
    const file = join(dir, 'state.json')
    const writes = Array.from({ length: 40 }, (_, i) => writeJsonFileAtomic(file, { n: i }))
    await Promise.all(writes)
    assert.deepEqual(await readJsonFile(file), { n: 39 })
    assert.deepEqual(await readdir(dir), ['state.json'])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a failed save does not block the saves after it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'json-file-'))
  try {
    const file = join(dir, 'state.json')
    const circular: Record<string, unknown> = {}
    circular.self = circular
    const bad = Promise.resolve().then(() => writeJsonFileAtomic(file, circular))
    await assert.rejects(bad, TypeError)
    await writeJsonFileAtomic(file, { ok: true })
    assert.deepEqual(await readJsonFile(file), { ok: true })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
