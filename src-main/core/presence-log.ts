import type { PresenceChange, PresenceRestore } from './session.ts';
import type { Db } from './store/open.ts';

export interface PresenceEntry extends PresenceChange {
  seq: number;
  at: string;
}

/**
 * Who staffed the window and when (窗口不空岗): every sign-in, pause, resume, sign-out and restart,
 * gap-free from 1 and append-only (triggers refuse UPDATE and DELETE). The hub judges unstaffed
 * time from it; the counter restores the signed-in staff from its last entry after a restart.
 */
export class PresenceLog {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  append(change: PresenceChange): PresenceEntry {
    return this.db.transaction(() => {
      const last = this.db.prepare('SELECT MAX(seq) AS s FROM presence_log').get() as { s: number | null };
      const entry: PresenceEntry = { ...change, seq: (last.s ?? 0) + 1, at: this.now().toISOString() };
      this.db
        .prepare(
          'INSERT INTO presence_log (seq, at, state, staff_no, event, reason) VALUES (@seq, @at, @state, @staff_no, @event, @reason)',
        )
        .run(entry);
      return entry;
    })();
  }

  last(): PresenceEntry | null {
    return (
      (this.db.prepare('SELECT * FROM presence_log ORDER BY seq DESC LIMIT 1').get() as
        | PresenceEntry
        | undefined) ?? null
    );
  }

  restore(): PresenceRestore | null {
    const last = this.last();
    return last ? { state: last.state, staff_no: last.staff_no, reason: last.reason } : null;
  }

  entries(): PresenceEntry[] {
    return this.db.prepare('SELECT * FROM presence_log ORDER BY seq').all() as PresenceEntry[];
  }
}
