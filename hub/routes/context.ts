import type { HubMetrics } from '../metrics.ts';
import type { RefusalLimiter } from '../refusal-limit.ts';
import type { HubStore } from '../store/types.ts';

/** What every route plugin gets from buildHub. */
export interface HubContext {
  store: HubStore;
  metrics: HubMetrics;
  /** The hub's clock (injected in tests). */
  now: () => Date;
  /** Signature refusals per IP, when the hub has rate limits (hub/refusal-limit.ts). */
  refusals?: RefusalLimiter | undefined;
}
