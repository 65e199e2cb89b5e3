import type { PauseReason, ReasonDictionary, StaffView } from '../../src-shared/calls.ts';
import type { Level } from '../../src-shared/levels.ts';
import type { Err } from '../../src-shared/result.ts';
import { type AppState, storeHealthy } from './store.ts';

type Notice = 'none' | 'submitting' | 'failed';

/** A 差评 reason as the citizen reads it: the text in the screen's language, or the Chinese one. */
export interface ReasonEntry {
  code: string;
  text: string;
  /** The locale the text is in (zh-CN when the dictionary has none for the screen's language). */
  lang: string;
}

/** What the citizen screen shows; derived, so the thank-you cannot depend on the level given. */
export type CitizenView =
  | { screen: 'signed_out' }
  | { screen: 'paused'; staff: StaffView | null; reason: PauseReason | null }
  | { screen: 'idle'; staff: StaffView | null }
  /** A rating is open but the store cannot commit: no buttons, a neutral "try later". */
  | { screen: 'unavailable'; staff: StaffView | null }
  | {
      screen: 'rating';
      staff: StaffView | null;
      /** The level touched (ring + ✓ + 已选择), until 提交. */
      selected: Level | null;
      /** 提交 was pressed (or a wedge key) and the commit is pending. */
      pressed: boolean;
      notice: Notice;
      anonymousOffered: boolean;
      anonymous: boolean;
      /** The rating window closes within 20 s: one touch extends it. */
      expiring: boolean;
    }
  | {
      screen: 'reason';
      staff: StaffView | null;
      level: Level;
      /** null while the dictionary is loading. */
      reasons: ReasonEntry[] | null;
      chosen: string[];
      pressed: boolean;
      notice: Notice;
      anonymousOffered: boolean;
      anonymous: boolean;
      expiring: boolean;
    }
  | { screen: 'thanks'; staff: StaffView | null; receipt: string | null };

/** The dictionary's locale keys: zh-Hans for Chinese; ug; kk-Arab-CN (or plain kk-Arab). */
const DICTIONARY_LOCALES: Record<string, readonly string[]> = {
  'zh-CN': ['zh-Hans', 'zh-CN', 'zh'],
  ug: ['ug', 'ug-Arab', 'ug-CN'],
  'kk-Arab-CN': ['kk-Arab-CN', 'kk-Arab'],
};

export function reasonsFor(
  dict: ReasonDictionary | null,
  level: Level,
  locale: string,
): ReasonEntry[] | null {
  if (!dict) return null;
  const keys = DICTIONARY_LOCALES[locale] ?? [locale];
  return dict.reasons
    .filter((r) => r.level === level)
    .map((r) => {
      for (const key of keys) {
        const text = r.text[key];
        if (text) return { code: r.code, text, lang: key.startsWith('zh') ? 'zh-CN' : locale };
      }
      return { code: r.code, text: r.text['zh-Hans'] ?? r.code, lang: 'zh-CN' };
    });
}

export function citizenView(
  s: Pick<AppState, 'session' | 'submit' | 'draft' | 'store' | 'reasons'>,
  locale = 'zh-CN',
): CitizenView {
  const staff = s.session?.staff ?? null;
  // Thanks only after a commit: the reply to our own touch, or the host saying a rating was given (pad press).
  if (s.submit.phase === 'done' || s.session?.state === 'thanks') {
    const receipt = s.session?.receipt ?? (s.submit.phase === 'done' ? s.submit.receipt : null);
    return { screen: 'thanks', staff, receipt };
  }
  switch (s.session?.state) {
    case 'signed_out':
      return { screen: 'signed_out' };
    case 'paused':
      return { screen: 'paused', staff, reason: s.session.pause_reason };
    case 'rating_open':
      break;
    default:
      return { screen: 'idle', staff };
  }
  if (!storeHealthy(s)) return { screen: 'unavailable', staff };
  const { submit, draft } = s;
  const pressed = submit.phase === 'pressed';
  const notice: Notice =
    submit.phase === 'pressed' && submit.slow ? 'submitting' : submit.phase === 'failed' ? 'failed' : 'none';
  const anonymousOffered = s.session.case?.anonymous_allowed === true;
  const anonymous = anonymousOffered && draft.anonymous;
  if (draft.step === 'reason' && draft.level !== null) {
    return {
      screen: 'reason',
      staff,
      level: draft.level,
      reasons: reasonsFor(s.reasons, draft.level, locale),
      chosen: draft.reasons,
      pressed,
      notice,
      anonymousOffered,
      anonymous,
      expiring: draft.expiring,
    };
  }
  const selected = pressed && submit.phase === 'pressed' ? submit.level : draft.level;
  const expiring = draft.expiring;
  return { screen: 'rating', staff, selected, pressed, notice, anonymousOffered, anonymous, expiring };
}

/** The staff console's view of the session: state in words, never a level (threat T2). */
export type StaffSessionWord = 'signed_out' | 'idle' | 'paused' | 'waiting' | 'done';
export function staffSessionWord(s: Pick<AppState, 'session'>): StaffSessionWord {
  switch (s.session?.state) {
    case 'signed_out':
      return 'signed_out';
    case 'paused':
      return 'paused';
    case 'rating_open':
      return 'waiting';
    case 'thanks':
      return 'done';
    default:
      return 'idle';
  }
}

/** Something the citizen should know is wrong, in words; null when all is well. */
export type CitizenProblem = 'link' | 'store' | 'pad' | null;
export function citizenProblem(s: Pick<AppState, 'connection' | 'pad' | 'store'>): CitizenProblem {
  if (s.connection !== 'open') return 'link';
  if (!storeHealthy(s)) return 'store';
  if (s.pad?.link === 'down') return 'pad';
  return null;
}

/**
 * Sign-in failure as the staff screen words it. Never says which of staff number or PIN was wrong.
 * `lockedS` is the lock's remaining time when the core said it (see lockRemainingS).
 */
export type SignInProblem = { kind: 'bad_credentials' } | { kind: 'locked'; lockedS: number | null } | null;

export function signInProblem(error: Err['error'] | null, now = Date.now()): SignInProblem {
  if (error?.code === 'LOCKED') return { kind: 'locked', lockedS: lockRemainingS(error.message, now) };
  if (error?.code === 'BAD_CREDENTIALS') return { kind: 'bad_credentials' };
  return null;
}

/**
 * The lock's remaining seconds, read from the error's message: the contract's Err has only a code
 * and a message, so the core is expected to say either `retry_after_s=N`, "N s" / "N 秒", or the
 * ISO time the lock ends. Null when the message says none of these.
 */
export function lockRemainingS(message: string, now = Date.now()): number | null {
  const explicit = /retry_after_s\s*[=:]\s*(\d+)/i.exec(message) ?? /(\d+)\s*(?:s\b|sec|秒)/i.exec(message);
  if (explicit?.[1]) return Number(explicit[1]);
  const iso = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/.exec(message);
  if (iso) {
    const until = Date.parse(iso[0]);
    if (Number.isFinite(until)) return Math.max(0, Math.ceil((until - now) / 1000));
  }
  return null;
}
