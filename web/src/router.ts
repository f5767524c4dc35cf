/** A tiny History-API router for paths under /console/. */
import { useEffect, useState } from 'preact/hooks'

export const BASE = '/console/'

export function currentPath(): string {
  const p = location.pathname
  return p.startsWith(BASE) ? p.slice(BASE.length) : ''
}

export function navigate(path: string): void {
  history.pushState(null, '', BASE + path)
  dispatchEvent(new PopStateEvent('popstate'))
}

export function usePath(): string {
  const [path, setPath] = useState(currentPath())
  useEffect(() => {
    const on = () => setPath(currentPath())
    addEventListener('popstate', on)
    return () => removeEventListener('popstate', on)
  }, [])
  return path
}

/** A link that navigates without a page load. */
export function linkProps(path: string) {
  return {
    href: BASE + path,
    onClick: (e: MouseEvent) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return
      e.preventDefault()
      navigate(path)
    },
  }
}
