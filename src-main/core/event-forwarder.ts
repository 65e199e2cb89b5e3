import { EVENT_NAMES, type EventName } from '../../src-shared/index.ts';
import type { Counter } from './counter.ts';

/**
 * Forwards every contract event of the counter to one sink (all WebSocket clients, all Electron
 * windows, a test's fake preload), so each host wires events the same way. Returns the unsubscribe.
 */
export function forwardEvents(
  counter: Counter,
  send: (event: EventName, payload: unknown) => void,
): () => void {
  const offs = EVENT_NAMES.map((event) => {
    const listener = (payload: unknown) => send(event, payload);
    counter.on(event, listener as never);
    return () => counter.off(event, listener as never);
  });
  return () => {
    for (const off of offs) off();
  };
}
