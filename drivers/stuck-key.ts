/**
 * Stuck-key detection, pure (time is passed in), used by the supervisor.
 *
 * Two ways a key is stuck:
 * - **repeat**: the same key arrives again and again, each press within `repeatGapMs` of the one
 *   before, for at least `stuckAfterMs`. From that press on, that key's presses are suppressed.
 *   Other keys are not affected (a citizen may still press a working key).
 * - **fault**: the pad reports FAULT code 1 (key stuck). The frame does not say which key, so
 *   every press is suppressed.
 *
 * **Released** when the line is quiet for `releaseAfterMs`: no press of the stuck key (repeat),
 * or no press and no further FAULT 1 at all (fault). A new boot (power cycle) releases too
 * (`reset()`). Suppressing is the safe side: "no rating is invented" outranks a missed rating.
 */

export interface StuckKeyOptions {
  /** A run of one key lasting this long is a stuck key. Default 3000 ms. */
  stuckAfterMs?: number;
  /** Presses of one key further apart than this start a new run. Default 1000 ms. */
  repeatGapMs?: number;
  /** Quiet time after which an alarm is released. Default 2000 ms. */
  releaseAfterMs?: number;
}

export interface StuckKeyAlarm {
  /** The stuck key, or null when the pad reported a fault without naming the key. */
  key: number | null;
  source: 'repeat' | 'fault';
  sinceMs: number;
  /** Last press or FAULT that kept the alarm alive. */
  lastMs: number;
  detail: string;
}

export interface PressVerdict {
  /** True: answer status 1, never a rating. */
  stuck: boolean;
  /** Set when this press raised the alarm. */
  raised?: StuckKeyAlarm;
}

export const STUCK_DEFAULTS = { stuckAfterMs: 3000, repeatGapMs: 1000, releaseAfterMs: 2000 } as const;

export class StuckKeyDetector {
  private readonly opts: Required<StuckKeyOptions>;
  private run: { key: number; startMs: number; lastMs: number } | null = null;
  private alarm_: StuckKeyAlarm | null = null;

  constructor(options: StuckKeyOptions = {}) {
    this.opts = { ...STUCK_DEFAULTS, ...options };
  }

  get alarm(): StuckKeyAlarm | null {
    return this.alarm_ ? { ...this.alarm_ } : null;
  }

  /** When `tick()` should next be called to release the alarm; null without an alarm. */
  get releaseAtMs(): number | null {
    return this.alarm_ ? this.alarm_.lastMs + this.opts.releaseAfterMs : null;
  }

  press(key: number, nowMs: number): PressVerdict {
    this.tick(nowMs);
    const alarm = this.alarm_;
    if (alarm && (alarm.key === null || alarm.key === key)) {
      alarm.lastMs = nowMs;
      return { stuck: true };
    }
    const run = this.run;
    if (run && run.key === key && nowMs - run.lastMs <= this.opts.repeatGapMs) {
      run.lastMs = nowMs;
      if (!alarm && nowMs - run.startMs >= this.opts.stuckAfterMs) {
        this.alarm_ = {
          key,
          source: 'repeat',
          sinceMs: nowMs,
          lastMs: nowMs,
          detail: `key ${key} repeating for ${nowMs - run.startMs} ms`,
        };
        return { stuck: true, raised: { ...this.alarm_ } };
      }
      return { stuck: false };
    }
    this.run = { key, startMs: nowMs, lastMs: nowMs };
    return { stuck: false };
  }

  /** FAULT code 1 from the pad. Returns the alarm when this fault raised it. */
  fault(nowMs: number, detail: string): StuckKeyAlarm | undefined {
    this.tick(nowMs);
    if (this.alarm_?.source === 'fault') {
      this.alarm_.lastMs = nowMs;
      return undefined;
    }
    this.alarm_ = {
      key: null,
      source: 'fault',
      sinceMs: nowMs,
      lastMs: nowMs,
      detail: detail || 'key stuck',
    };
    return { ...this.alarm_ };
  }

  /** Releases the alarm after a quiet `releaseAfterMs`; returns the released alarm. */
  tick(nowMs: number): StuckKeyAlarm | undefined {
    const alarm = this.alarm_;
    if (!alarm || nowMs - alarm.lastMs < this.opts.releaseAfterMs) return undefined;
    this.alarm_ = null;
    this.run = null;
    return alarm;
  }

  /** A new boot: whatever was stuck before the power cycle is forgotten. */
  reset(): StuckKeyAlarm | undefined {
    const alarm = this.alarm_;
    this.alarm_ = null;
    this.run = null;
    return alarm ?? undefined;
  }
}
