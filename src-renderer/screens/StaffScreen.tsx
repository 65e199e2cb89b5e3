import { type FormEvent, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useShallow } from 'zustand/react/shallow';
import { PAUSE_REASONS, type PauseReason } from '../../src-shared/calls.ts';
import { WarningIcon } from '../components/Icons.tsx';
import { useAppStore } from '../state/context.tsx';
import { staffSessionWord } from '../state/views.ts';
import { SignIn } from './SignIn.tsx';

/**
 * The staff console: sign in (when nobody is), open or cancel a rating, pause and resume service,
 * sign out; the state in words and the device health.
 * Privacy rule (ui-guidelines §2, threat T2): it never reads or shows a rating's level or reason;
 * it does not even subscribe to the citizen's choices (`submit`, `draft` in the store).
 */
export function StaffScreen() {
  const { t } = useTranslation();
  const word = useAppStore(staffSessionWord);
  const loaded = useAppStore((s) => s.loaded);
  return (
    <div className="screen staff" data-state={loaded ? word : 'loading'}>
      <StaffHeader />
      <StoreBanner />
      {!loaded ? (
        <main className="staff__main">
          <p className="staff-state__word" role="status">
            {t('app.loading')}
          </p>
        </main>
      ) : word === 'signed_out' ? (
        <SignIn />
      ) : (
        <Console />
      )}
      <StatusStrip />
    </div>
  );
}

function StaffHeader() {
  const { t } = useTranslation();
  const staff = useAppStore((s) => s.session?.staff ?? null);
  return (
    <header className="staff__header">
      <h1 className="staff__title">{t('staff.title')}</h1>
      <p className="staff__who">
        {staff ? (
          <>
            <bdi>{staff.name}</bdi>
            <span className="staff__sep" aria-hidden="true">
              ·
            </span>
            {t('card.staffNo')} <bdi dir="ltr">{staff.staff_no}</bdi>
            <span className="staff__sep" aria-hidden="true">
              ·
            </span>
            {t('card.window')} <bdi dir="ltr">{staff.window_id}</bdi>
          </>
        ) : (
          t('staff.noStaff')
        )}
      </p>
    </header>
  );
}

/** The store cannot commit: ratings are refused until it can (the message is the core's, for IT). */
function StoreBanner() {
  const { t } = useTranslation();
  const store = useAppStore((s) => s.store);
  if (!store || store.health === 'ok') return null;
  return (
    <div className="store-banner" role="alert">
      <WarningIcon />
      <p>
        <strong className="store-banner__title">{t('staff.store.title')}</strong>
        <span className="store-banner__detail">
          {t(`staff.store.${store.health}`)}
          {store.message ? (
            <>
              {' · '}
              <bdi>{store.message}</bdi>
            </>
          ) : null}
          {' · '}
          {t('staff.store.contact')}
        </span>
      </p>
    </div>
  );
}

function Console() {
  const { t } = useTranslation();
  const word = useAppStore(staffSessionWord);
  const { caseRef, busy, error, pauseReason } = useAppStore(
    useShallow((s) => ({
      caseRef: s.session?.case_ref ?? null,
      busy: s.staff.busy,
      error: s.staff.error,
      pauseReason: s.session?.pause_reason ?? null,
    })),
  );
  const openRating = useAppStore((s) => s.openRating);
  const cancelRating = useAppStore((s) => s.cancelRating);
  const [caseInput, setCaseInput] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const waiting = word === 'waiting';
  const paused = word === 'paused';

  // Keyboard use: after open/cancel, put the focus on the control that makes sense next, if it was in
  // the form (a control that disappears would otherwise drop the focus to the page).
  const wasWaiting = useRef(waiting);
  useEffect(() => {
    if (wasWaiting.current === waiting) return;
    wasWaiting.current = waiting;
    const form = formRef.current;
    const active = document.activeElement;
    if (!form || (active && active !== document.body && !form.contains(active))) return;
    if (waiting) cancelRef.current?.focus();
    else inputRef.current?.focus();
  }, [waiting]);

  async function onInvite(e: FormEvent) {
    e.preventDefault();
    if (waiting || paused || busy) return;
    if (await openRating(caseInput)) setCaseInput('');
  }

  return (
    <main className="staff__main">
      <section className="staff-state" aria-labelledby="staff-state-label">
        <h2 id="staff-state-label" className="staff-state__label">
          {t('staff.stateLabel')}
        </h2>
        <p className={`staff-state__word staff-state__word--${word}`} role="status">
          {t(`staff.state.${word}`)}
        </p>
        {(word === 'waiting' || word === 'done') && (
          <p className="staff-state__case">
            {t('staff.caseRef')}：{caseRef ? <bdi dir="ltr">{caseRef}</bdi> : t('staff.noCase')}
          </p>
        )}
        {paused && (
          <p className="staff-state__case">
            {t('staff.pausedBecause', { reason: t(`staff.pauseReason.${pauseReason ?? 'other'}`) })}
          </p>
        )}
        <p className="staff-state__privacy">{t('staff.privacy')}</p>
      </section>

      <form ref={formRef} className="staff-form" onSubmit={onInvite}>
        <label className="staff-form__label" htmlFor="case-ref">
          {t('staff.caseLabel')}
        </label>
        <input
          ref={inputRef}
          id="case-ref"
          className="staff-form__input"
          type="text"
          inputMode="text"
          autoComplete="off"
          spellCheck={false}
          maxLength={64}
          dir="ltr"
          value={caseInput}
          disabled={waiting || paused}
          aria-describedby="case-hint"
          onChange={(e) => setCaseInput(e.target.value)}
        />
        <p id="case-hint" className="staff-form__hint">
          {t('staff.caseHint')}
        </p>
        {/* Busy buttons stay focusable (aria-disabled, not disabled) so keyboard focus is never lost. */}
        <div className="staff-form__actions">
          {!waiting && !paused && (
            <button
              type="submit"
              className="button button--primary"
              aria-disabled={busy !== null || undefined}
            >
              {busy === 'open' ? t('staff.inviting') : t('staff.invite')}
            </button>
          )}
          {waiting && (
            <button
              ref={cancelRef}
              type="button"
              className="button button--secondary"
              aria-disabled={busy !== null || undefined}
              onClick={() => {
                if (busy === null) void cancelRating();
              }}
            >
              {busy === 'cancel' ? t('staff.cancelling') : t('staff.cancel')}
            </button>
          )}
        </div>
        <div className="staff-form__error">
          {error && (
            <p className="notice notice--error" role="alert">
              <WarningIcon />
              <span>{t('staff.error', { reason: t(`error.${error.code}`) })}</span>
            </p>
          )}
        </div>
      </form>

      <ServiceControls />
    </main>
  );
}

/**
 * 暂停服务 (with a reason), 恢复服务, 签退 (with a confirm). Not while a rating window is open:
 * the citizen in front of the window is rating.
 */
function ServiceControls() {
  const { t } = useTranslation();
  const word = useAppStore(staffSessionWord);
  const busy = useAppStore((s) => s.staff.busy);
  const pause = useAppStore((s) => s.pause);
  const resume = useAppStore((s) => s.resume);
  const signOut = useAppStore((s) => s.signOut);
  const [mode, setMode] = useState<'buttons' | 'pause' | 'sign_out'>('buttons');
  const paused = word === 'paused';
  const waiting = word === 'waiting';
  const firstRef = useRef<HTMLButtonElement>(null);

  // The chooser or the confirm replaces the buttons: move the focus into it for keyboard users.
  useEffect(() => {
    if (mode !== 'buttons') firstRef.current?.focus();
  }, [mode]);
  // Someone else (the other screen, the core) changed the state: drop a half-made choice.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on every change of the state word
  useEffect(() => {
    setMode('buttons');
  }, [word]);

  async function run(action: () => Promise<boolean>) {
    if (busy !== null) return;
    await action();
    setMode('buttons');
  }

  return (
    <section className="staff-service" aria-labelledby="staff-service-label">
      <h2 id="staff-service-label" className="staff-state__label">
        {t('staff.service')}
      </h2>
      {mode === 'pause' && (
        <fieldset className="staff-service__choices">
          <legend className="staff-form__label">{t('staff.pauseTitle')}</legend>
          {PAUSE_REASONS.map((reason: PauseReason, i) => (
            <button
              key={reason}
              ref={i === 0 ? firstRef : undefined}
              type="button"
              className="button button--secondary"
              aria-disabled={busy !== null || undefined}
              onClick={() => void run(() => pause(reason))}
            >
              {t(`staff.pauseReason.${reason}`)}
            </button>
          ))}
          <button type="button" className="button button--secondary" onClick={() => setMode('buttons')}>
            {t('staff.back')}
          </button>
        </fieldset>
      )}
      {mode === 'sign_out' && (
        <fieldset className="staff-service__choices">
          <legend className="staff-form__label">{t('staff.signOutConfirm')}</legend>
          <button
            ref={firstRef}
            type="button"
            className="button button--primary"
            aria-disabled={busy !== null || undefined}
            onClick={() => void run(signOut)}
          >
            {busy === 'sign_out' ? t('staff.signingOut') : t('staff.signOutYes')}
          </button>
          <button type="button" className="button button--secondary" onClick={() => setMode('buttons')}>
            {t('staff.back')}
          </button>
        </fieldset>
      )}
      {mode === 'buttons' && (
        <div className="staff-service__choices">
          {paused ? (
            <button
              type="button"
              className="button button--primary"
              aria-disabled={busy !== null || undefined}
              onClick={() => void run(resume)}
            >
              {busy === 'resume' ? t('staff.resuming') : t('staff.resume')}
            </button>
          ) : (
            <button
              type="button"
              className="button button--secondary"
              aria-disabled={waiting || busy !== null || undefined}
              aria-describedby={waiting ? 'staff-busy-hint' : undefined}
              onClick={() => {
                if (!waiting && busy === null) setMode('pause');
              }}
            >
              {busy === 'pause' ? t('staff.pausing') : t('staff.pause')}
            </button>
          )}
          <button
            type="button"
            className="button button--secondary"
            aria-disabled={waiting || busy !== null || undefined}
            aria-describedby={waiting ? 'staff-busy-hint' : undefined}
            onClick={() => {
              if (!waiting && busy === null) setMode('sign_out');
            }}
          >
            {t('staff.signOut')}
          </button>
          {waiting && (
            <p id="staff-busy-hint" className="staff-form__hint">
              {t('staff.busyHint')}
            </p>
          )}
        </div>
      )}
    </section>
  );
}

function StatusStrip() {
  const { t } = useTranslation();
  const { pad, queue, eta, rate, hub, link, alarms } = useAppStore(
    useShallow((s) => ({
      pad: s.pad?.link ?? null,
      queue: s.sync?.queue_depth ?? null,
      eta: s.sync?.eta_s ?? null,
      rate: s.sync?.upload_rate ?? null,
      hub: s.sync?.hub ?? null,
      link: s.connection,
      alarms: s.alarms,
    })),
  );
  const items: Array<{ key: string; text: string; bad: boolean }> = [
    {
      key: 'pad',
      text: t('staff.status.pad', { value: pad ? t(`staff.pad.${pad}`) : '—' }),
      bad: pad === 'down',
    },
    {
      key: 'queue',
      // While a backlog drains: how long it will take, at the rate of the last minute.
      text:
        queue && eta && rate
          ? t('staff.status.queueEta', { n: queue, minutes: Math.max(1, Math.ceil(eta / 60)), rate })
          : t('staff.status.queue', { n: queue ?? '—' }),
      bad: false,
    },
    {
      key: 'hub',
      text: t('staff.status.hub', { value: hub ? t(`staff.hub.${hub}`) : '—' }),
      bad: hub === 'unreachable' || hub === 'rejected',
    },
    { key: 'link', text: t('staff.status.link', { value: t(`staff.link.${link}`) }), bad: link !== 'open' },
    // Alarms the hall and the hub also hear about (窗口不空岗, a stuck key, the store), by kind in words.
    ...[...new Set(alarms.map((a) => a.kind))].map((kind) => ({
      key: `alarm-${kind}`,
      text: t(`staff.alarm.${kind}`),
      bad: true,
    })),
  ];
  return (
    <footer className="status-strip">
      <h2 className="visually-hidden">{t('staff.status.label')}</h2>
      <ul className="status-strip__list">
        {items.map((item) => (
          <li key={item.key} className={item.bad ? 'status-strip__item is-bad' : 'status-strip__item'}>
            {item.bad && <WarningIcon size={32} />}
            <span>{item.text}</span>
          </li>
        ))}
      </ul>
      {/* IT's enrollment and diagnostics panel, signed in or not: last in the tab order, so staff
          reach the case field or the sign-in keypad first. */}
      <a className="staff__provision" href="#/provision">
        {t('provision.open')}
      </a>
    </footer>
  );
}
