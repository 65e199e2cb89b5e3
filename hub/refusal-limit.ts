import type { RateRule } from './rate-limit.ts';

/**
 * Requests refused by the device signature check, counted per IP (fixed window). Past `max`
 * refusals in a window, that IP's requests to the signed routes are answered 429 before any key
 * lookup, nonce or verification, so a flood of forged or replayed requests costs the hub almost
 * nothing; its good requests resume with the next window. The per-device limits cannot do this:
 * they count after the check, by the device that signed. Written by hand because
 * @fastify/rate-limit counts every request of a route, and only refusals are wanted here.
 */
export class RefusalLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly rule: RateRule,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  /** Milliseconds until this IP may be heard again; 0 when it may be now. */
  blockedFor(ip: string): number {
    const w = this.windows.get(ip);
    if (!w) return 0;
    const left = w.start + this.rule.windowMs - this.clock();
    if (left <= 0) {
      this.windows.delete(ip);
      return 0;
    }
    return w.count >= this.rule.max ? left : 0;
  }

  /** One more request from this IP was refused by the signature check. */
  refused(ip: string): void {
    const now = this.clock();
    const w = this.windows.get(ip);
    if (w && now - w.start < this.rule.windowMs) {
      w.count++;
      return;
    }
    // Bounded: a spray from many addresses cannot grow the table without end.
    if (this.windows.size >= 50_000) this.prune(now);
    this.windows.set(ip, { start: now, count: 1 });
  }

  private prune(now: number): void {
    for (const [ip, w] of this.windows) if (now - w.start >= this.rule.windowMs) this.windows.delete(ip);
    if (this.windows.size >= 50_000) this.windows.clear();
  }
}
