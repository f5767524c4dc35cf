// `npm start` runs this first: builds the web console when web/dist is missing (npm install
// builds it too, through the `prepare` script).
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import process from 'node:process'
import { URL } from 'node:url'

const root = new URL('..', import.meta.url).pathname
if (!existsSync(new URL('dist/index.html', import.meta.url))) {
  process.stderr.write('Building the web console (web/dist)...\n')
  const r = spawnSync('npx', ['vite', 'build', 'web'], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
