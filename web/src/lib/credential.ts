/**
 * The dock screen's credential: a kiosk token (station status only), handed
 * over once in the address's fragment (#token=..., printed by `bodyvault
 * token create --role kiosk`), then kept in this browser's localStorage and
 * taken out of the address bar. A fragment never reaches a server or its logs.
 */
const KEY = 'bodyvault.kioskToken'

export function takeToken(
  loc: Pick<Location, 'hash' | 'pathname' | 'search'>,
  storage: Pick<Storage, 'getItem' | 'setItem'>,
  history?: Pick<History, 'replaceState'>,
): string | null {
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
export function forgetToken(storage: Pick<Storage, 'removeItem'>): void {
  storage.removeItem(KEY)
}
