import type { HubMetrics } from '../metrics.ts';
import type { HubStore } from '../store/types.ts';

/** What every route plugin gets from buildHub. */
export interface HubContext {
  store: HubStore;
  metrics: HubMetrics;
  /** The hub's clock (injected in tests). */
  now: () => Date;
}
