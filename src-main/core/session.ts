import { EventEmitter } from 'node:events';
import type { Level, SessionView, StaffView } from '../../src-shared/index.ts';
import type { CounterConfig } from './config.ts';
import type { PressDecision, RatingContext } from './store/counter-store.ts';

type State =
  | { name: 'idle' }
  | { name: 'rating_open'; caseRef: string | null; openedAt: Date; expiresAt: Date | null }
  | { name: 'thanks'; caseRef: string | null; receipt: string };

/**
 * The minimal counter session of the walking skeleton: idle → rating open → thanks → idle.
 * First press wins: the rating window closes the moment a rating is committed, so any later
 * press is recorded as not a rating. Three states do not need xstate yet; the full machine
 * (sign-in, pause, cases, timeouts as 未评价) replaces this in the session-engine work.
 */
export class CounterSession extends EventEmitter<{ change: [SessionView] }> {
  private state: State = { name: 'idle' };
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: CounterConfig,
    private readonly now: () => Date = () => new Date(),
  ) {
    super();
  }

  staff(): StaffView {
    const c = this.config;
    return {
      staff_no: c.staff.staff_no,
      name: c.staff.name,
      window_id: c.window_id,
      hall_id: c.hall_id,
      photo_url: c.staff.photo_url,
    };
  }

  view(): SessionView {
    const s = this.state;
    return {
      state: s.name,
      staff: this.staff(),
      case_ref: s.name === 'idle' ? null : s.caseRef,
      opened_at: s.name === 'rating_open' ? s.openedAt.toISOString() : null,
      expires_at: s.name === 'rating_open' && s.expiresAt ? s.expiresAt.toISOString() : null,
      receipt: s.name === 'thanks' ? s.receipt : null,
    };
  }

  open(caseRef: string | null): SessionView {
    const openedAt = this.now();
    const expiresAt = new Date(openedAt.getTime() + this.config.rating_timeout_s * 1000);
    this.set({ name: 'rating_open', caseRef, openedAt, expiresAt }, this.config.rating_timeout_s * 1000);
    return this.view();
  }

  cancel(): SessionView {
    this.set({ name: 'idle' }, null);
    return this.view();
  }

  /** Decides, inside the store's transaction, what a level given now becomes. */
  decide(level: Level, source: 'pad' | 'screen', pad: RatingContext['pad']): PressDecision {
    const s = this.state;
    if (s.name === 'rating_open') {
      const c = this.config;
      return {
        rate: true,
        level,
        ctx: {
          channel: c.channel,
          case_ref: s.caseRef,
          staff_no: c.staff.staff_no,
          staff_name: c.staff.name,
          window_id: c.window_id,
          hall_id: c.hall_id,
          opened_at: s.openedAt.toISOString(),
          source,
          pad,
        },
      };
    }
    return { rate: false, reason: s.name === 'thanks' ? 'after_first_press' : 'no_rating_open' };
  }

  /** Called after a rating is committed: the window closes (first press wins) and the citizen sees thanks. */
  rated(receipt: string): void {
    const s = this.state;
    const caseRef = s.name === 'idle' ? null : s.caseRef;
    this.set({ name: 'thanks', caseRef, receipt }, this.config.thanks_s * 1000);
  }

  private set(next: State, timeoutMs: number | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.state = next;
    if (timeoutMs !== null && timeoutMs > 0) {
      // Rating window timed out, or thank-you shown long enough: back to idle.
      this.timer = setTimeout(() => this.set({ name: 'idle' }, null), timeoutMs);
      this.timer.unref();
    }
    this.emit('change', this.view());
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** A short receipt code the citizen can check on the public page later: derived from the event id. */
export function receiptCode(eventId: string): string {
  const hex = eventId.replace(/-/g, '');
  return `${hex.slice(-8, -4)}-${hex.slice(-4)}`.toUpperCase();
}
