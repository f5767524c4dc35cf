/**
 * @module delivery/spool
 * Spool files: the records routed to one trail in one region, one JSON record per line, one file per
 * batch generation (`<dir>/<trailKey>/<region>/<gen>.ndjson`). The state file records how many bytes
 * of each generation are committed; anything past that (a write whose commit did not happen) is cut
 * before the next append and at recovery.
 */
import { mkdir, open, readdir, readFile, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'

export class Spool {
  constructor(private readonly dir: string) {}

  private streamDir(trailKey: string, region: string): string {
    return join(this.dir, trailKey, region)
  }

  path(trailKey: string, region: string, gen: number): string {
    return join(this.streamDir(trailKey, region), `${String(gen).padStart(12, '0')}.ndjson`)
  }

  /** Cuts the file to `at` bytes (creating it when absent), appends `data` and fsyncs. */
  async append(
    trailKey: string,
    region: string,
    gen: number,
    at: number,
    data: Buffer,
  ): Promise<void> {
    const dir = this.streamDir(trailKey, region)
    await mkdir(dir, { recursive: true })
    const fh = await open(this.path(trailKey, region, gen), 'a')
    try {
      const { size } = await fh.stat()
      if (size !== at) await fh.truncate(at)
      await fh.write(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    if (at === 0) {
      const dh = await open(dir, 'r')
      try {
        await dh.sync()
      } finally {
        await dh.close()
      }
    }
  }

  /** The first `bytes` bytes of a generation, as record JSON strings. */
  async readLines(trailKey: string, region: string, gen: number, bytes: number): Promise<string[]> {
    const buf = await readFile(this.path(trailKey, region, gen))
    if (buf.length < bytes) {
      throw new Error(
        `ERR_DELIVERY_SPOOL: ${this.path(trailKey, region, gen)} is shorter than committed`,
      )
    }
    return buf
      .subarray(0, bytes)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.length > 0)
  }

  async remove(trailKey: string, region: string, gen: number): Promise<void> {
    await unlink(this.path(trailKey, region, gen)).catch(() => undefined)
  }

  /**
   * Recovery: keeps only the generations `keep(trailKey, region)` returns, each cut to its committed
   * length; deletes every other spool file.
   */
  async recover(
    keep: (trailKey: string, region: string) => Map<number, number> | undefined,
  ): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    for (const trailKey of await readdir(this.dir)) {
      for (const region of await readdir(join(this.dir, trailKey)).catch(() => [])) {
        const gens = keep(trailKey, region)
        if (!gens) {
          await rm(join(this.dir, trailKey, region), { recursive: true, force: true })
          continue
        }
        for (const name of await readdir(join(this.dir, trailKey, region))) {
          const gen = Number(name.replace(/\.ndjson$/, ''))
          const len = gens.get(gen)
          const p = join(this.dir, trailKey, region, name)
          if (len === undefined) {
            await unlink(p).catch(() => undefined)
          } else {
            const fh = await open(p, 'r+')
            try {
              const { size } = await fh.stat()
              if (size > len) {
                await fh.truncate(len)
                await fh.sync()
              }
            } finally {
              await fh.close()
            }
          }
        }
      }
    }
  }
}
