import type { StaffView } from '../../src-shared/calls.ts';
import type { Level } from '../../src-shared/levels.ts';
import type { AppState } from './store.ts';

/** What the citizen screen shows; derived, so the thank-you cannot depend on the level pressed. */
export type CitizenView =
  | { screen: 'idle'; staff: StaffView | null }
  | {
      screen: 'rating';
      staff: StaffView | null;
      pressed: Level | null;
      notice: 'none' | 'submitting' | 'failed';
    }
  | { screen: 'thanks'; staff: StaffView | null; receipt: string | null };

export function citizenView(s: Pick<AppState, 'session' | 'submit'>): CitizenView {
  const staff = s.session?.staff ?? null;
  // Thanks only after a commit: the reply to our own touch, or the host saying a rating was given (pad press).
  if (s.submit.phase === 'done' || s.session?.state === 'thanks') {
    const receipt = s.session?.receipt ?? (s.submit.phase === 'done' ? s.submit.receipt : null);
    return { screen: 'thanks', staff, receipt };
  }
  if (s.session?.state === 'rating_open') {
    const { submit } = s;
    if (submit.phase === 'pressed') {
      return { screen: 'rating', staff, pressed: submit.level, notice: submit.slow ? 'submitting' : 'none' };
    }
    return { screen: 'rating', staff, pressed: null, notice: submit.phase === 'failed' ? 'failed' : 'none' };
  }
  return { screen: 'idle', staff };
}

/** The staff console's view of the session: state in words, never a level (threat T2). */
export type StaffSessionWord = 'idle' | 'waiting' | 'done';
export function staffSessionWord(s: Pick<AppState, 'session'>): StaffSessionWord {
  switch (s.session?.state) {
    case 'rating_open':
      return 'waiting';
    case 'thanks':
      return 'done';
    default:
      return 'idle';
  }
}

/** Something the citizen should know is wrong, in words; null when all is well. */
export type CitizenProblem = 'link' | 'pad' | null;
export function citizenProblem(s: Pick<AppState, 'connection' | 'pad'>): CitizenProblem {
  if (s.connection !== 'open') return 'link';
  if (s.pad?.link === 'down') return 'pad';
  return null;
}
