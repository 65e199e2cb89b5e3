import { useSyncExternalStore } from 'react';

export type Route = 'citizen' | 'staff' | 'provision';

/**
 * `#/citizen` (default), `#/staff`, or `#/provision` (IT's enrollment and diagnostics panel, on the
 * staff screen); a query after the route (`#/staff?lang=ug`) is ignored here.
 */
export function routeFromHash(hash: string): Route {
  const path = hash.replace(/^#/, '').split('?')[0] ?? '';
  if (path === '/staff') return 'staff';
  if (path === '/provision') return 'provision';
  return 'citizen';
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}
