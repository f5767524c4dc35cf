/**
 * @module console/static
 * Serves the built front end. Hashed assets (`assets/*`) are cached for a year; everything else,
 * and any path without a file extension (a client-side route), gets `index.html`, not cached.
 * Paths are resolved inside the folder only.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
}

export class StaticFiles {
  constructor(private readonly dir: string) {}

  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    relative: string,
    headers: Record<string, string>,
  ): Promise<void> {
    const clean = normalize('/' + relative).slice(1)
    let file = join(this.dir, clean)
    if (!file.startsWith(this.dir.endsWith(sep) ? this.dir : this.dir + sep) && file !== this.dir) {
      res.writeHead(404).end()
      return
    }
    let info = await stat(file).catch(() => undefined)
    if (!info?.isFile()) {
      if (extname(clean) && clean.startsWith('assets/')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found')
        return
      }
      file = join(this.dir, 'index.html')
      info = await stat(file).catch(() => undefined)
      if (!info?.isFile()) {
        res
          .writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
          .end(
            'The web console is not built. Run `npm run build:console` (npm install and npm start build it).\n',
          )
        return
      }
    }
    const immutable = clean.startsWith('assets/') && file.endsWith(clean)
    res.writeHead(200, {
      ...headers,
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    createReadStream(file).pipe(res)
  }
}
