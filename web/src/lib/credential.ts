/**
 * The dock screen's credential: a kiosk token (station status only), handed
 * over once in the address's fragment (#token=..., printed by `bodyvault
 * token create --role kiosk`), then kept in this browser's localStorage and
 * taken out of the address bar. A fragment never reaches a server or its logs.
 */
const KEY = 'bodyvault.kioskToken'

/** The parts of window.location, localStorage and history it uses (a test passes its own). */
export interface Where {
  hash: string
  pathname: string
  search: string
}
export interface Store {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

export function takeToken(loc: Where, storage: Store, history?: { replaceState(data: unknown, unused: string, url: string): void }): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(loc.hash)
  if (m) {
    const token = decodeURIComponent(m[1]!)
    storage.setItem(KEY, token)
    history?.replaceState(null, '', loc.pathname + loc.search)
    return token
  }
  return storage.getItem(KEY)
}

/** Forgets a token the station refused, so that the next address given replaces it. */
export function forgetToken(storage: Store): void {
  storage.removeItem(KEY)
}
