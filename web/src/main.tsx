import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { currentSession, setSession, signOut, type Identity } from './api'
import { linkProps, navigate, usePath } from './router'
import { SignIn } from './pages/signin'
import { Dashboard } from './pages/dashboard'
import { EventHistory } from './pages/events'
import { TrailList } from './pages/trails'
import { TrailWizard } from './pages/trail-wizard'
import { TrailDetail } from './pages/trail-detail'
import { Lake } from './pages/lake'
import { LakeDashboards } from './pages/lake-dashboards'
import { Insights } from './pages/insights'
import { Posture } from './pages/posture'
import { Monitoring } from './pages/monitoring'
import './styles.css'

const NAV: { path: string; label: string }[] = [
  { path: '', label: 'Dashboard' },
  { path: 'events', label: 'Event history' },
  { path: 'trails', label: 'Trails' },
  { path: 'lake', label: 'Lake' },
  { path: 'monitoring', label: 'Monitoring' },
  { path: 'insights', label: 'Insights' },
  { path: 'posture', label: 'Security posture' },
]

function Page({ path, identity }: { path: string; identity: Identity }) {
  if (path === '' || path === 'dashboard') return <Dashboard identity={identity} />
  if (path === 'events') return <EventHistory />
  if (path === 'trails') return <TrailList />
  if (path === 'lake') return <Lake />
  if (path.startsWith('lake/dashboards')) return <LakeDashboards path={path} />
  if (path === 'insights') return <Insights />
  if (path === 'posture') return <Posture />
  if (path === 'monitoring' || path.startsWith('monitoring/')) return <Monitoring path={path} />
  if (path === 'trails/create') return <TrailWizard identity={identity} />
  if (path.startsWith('trails/')) return <TrailDetail name={decodeURIComponent(path.slice(7))} />
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no console page at this address. <a {...linkProps('')}>Go to the dashboard</a>.
      </p>
    </section>
  )
}

function App() {
  const [identity, setIdentity] = useState<Identity | null | undefined>(undefined)
  const [expired, setExpired] = useState(false)
  const path = usePath()

  useEffect(() => {
    void currentSession().then((id) => {
      setSession(id, () => {
        setExpired(true)
        setIdentity(null)
      })
      setIdentity(id ?? null)
    })
  }, [])

  useEffect(() => {
    const section = NAV.find((n) => n.path && path.startsWith(n.path))?.label ?? 'Dashboard'
    document.title = identity ? `${section} | OpenTrail` : 'Sign in | OpenTrail'
  }, [path, identity])

  if (identity === undefined) return <p class="loading">Loading…</p>
  if (identity === null)
    return (
      <SignIn
        expired={expired}
        onSignedIn={(id) => {
          setSession(id)
          setExpired(false)
          setIdentity(id)
        }}
      />
    )

  const active = (p: string) =>
    p === '' ? path === '' || path === 'dashboard' : path.startsWith(p)
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" {...linkProps('')}>
          OpenTrail
        </a>
        <span class="who" title={identity.arn}>
          {identity.userName} @ {identity.accountId} · {identity.region}
          {identity.mfaAuthenticated ? ' · MFA' : ''}
        </span>
        <button
          type="button"
          class="link"
          onClick={() =>
            void signOut().then(() => {
              setIdentity(null)
              navigate('')
            })
          }
        >
          Sign out
        </button>
      </header>
      <nav class="side" aria-label="Console sections">
        <ul>
          {NAV.map((n) => (
            <li key={n.path}>
              <a {...linkProps(n.path)} aria-current={active(n.path) ? 'page' : undefined}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Page path={path} identity={identity} />
      </main>
    </div>
  )
}

render(<App />, document.getElementById('app')!)
