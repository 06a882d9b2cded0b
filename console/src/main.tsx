// The operator console: sign in with the account's API token, then pages over the management API.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, token, whenUnauthorized } from './api'
import { DevicePage } from './device'
import { Devices } from './devices'
import { Distribute } from './distribute'
import { href, useHashRoute } from './hooks'
import { Inbox } from './inbox'
import { JobPage, Jobs } from './jobs'
import { Overview } from './overview'
import { Products } from './products'
import { ErrorText } from './ui'

const NAV: [string, string][] = [['overview', 'Instances'], ['products', 'Products'], ['devices', 'Devices'], ['distribute', 'Distribute'], ['jobs', 'Jobs'], ['inbox', 'Codes inbox']]

function SignIn ({ onSignedIn }: { onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    token.set(String(new FormData(e.currentTarget as HTMLFormElement).get('token') ?? '').trim())
    try {
      await api('GET', '/instances')
      onSignedIn()
    } catch (err) {
      token.clear()
      setError((err as Error).message)
    }
  }
  return (
    <main class='signin'>
      <form class='card' onSubmit={submit} aria-labelledby='signin-title'>
        <h1 id='signin-title'>Homing console</h1>
        <p>Sign in with your account's API token. It is kept for this browser session only.</p>
        <label>API token <input name='token' type='password' autoComplete='off' required autoFocus /></label>
        <button type='submit'>Sign in</button>
        <ErrorText error={error} />
      </form>
    </main>
  )
}

function Shell ({ onSignOut }: { onSignOut: () => void }) {
  const { path, params } = useHashRoute()
  const [section = 'overview', a = '', b = ''] = path
  useEffect(() => { document.getElementById('page-title')?.focus() }, [path.join('/')])
  let page
  if (section === 'products') page = <Products />
  else if (section === 'devices') page = <Devices params={params} />
  else if (section === 'device') page = <DevicePage productKey={a} deviceName={b} />
  else if (section === 'distribute') page = <Distribute />
  else if (section === 'jobs' && a !== '') page = <JobPage id={a} />
  else if (section === 'jobs') page = <Jobs />
  else if (section === 'inbox') page = <Inbox />
  else page = <Overview />
  const current = section === 'device' ? 'devices' : section
  return (
    <>
      <header class='top'>
        <span class='brand'>Homing</span>
        <nav aria-label='Sections'>
          {NAV.map(([id, label]) => <a key={id} href={href(id)} aria-current={current === id ? 'page' : undefined}>{label}</a>)}
        </nav>
        <button type='button' class='signout' onClick={onSignOut}>Sign out</button>
      </header>
      <main id='main'>{page}</main>
    </>
  )
}

function App () {
  const [signedIn, setSignedIn] = useState(token.get() !== null)
  useEffect(() => whenUnauthorized(() => { token.clear(); setSignedIn(false) }), [])
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />
  return <Shell onSignOut={() => { token.clear(); setSignedIn(false) }} />
}

const root = document.getElementById('app')
if (root !== null) render(<App />, root)
