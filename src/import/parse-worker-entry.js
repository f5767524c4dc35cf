// Worker bootstrap: the worker runs the TypeScript sources through tsx's loader, like bin/opentrail.js.
import { register } from 'tsx/esm/api'

register()
await import('./parse-worker.ts')
