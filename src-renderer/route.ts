import { useSyncExternalStore } from 'react';

export type Route = 'citizen' | 'staff';

/** `#/citizen` (default) or `#/staff`; a query after the route (`#/staff?lang=ug`) is ignored here. */
export function routeFromHash(hash: string): Route {
  const path = hash.replace(/^#/, '').split('?')[0] ?? '';
  return path === '/staff' ? 'staff' : 'citizen';
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => window.location.hash);
}
