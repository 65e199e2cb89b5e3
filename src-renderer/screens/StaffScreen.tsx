import { type FormEvent, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useShallow } from 'zustand/react/shallow';
import { WarningIcon } from '../components/Icons.tsx';
import { useAppStore } from '../state/context.tsx';
import { staffSessionWord } from '../state/views.ts';

/**
 * The staff console: open or cancel a rating, see the state in words and the device health.
 * Privacy rule (ui-guidelines §2, threat T2): it never reads or shows a rating's level; it does
 * not even subscribe to the citizen's touch (`submit` in the store).
 */
export function StaffScreen() {
  const { t } = useTranslation();
  const word = useAppStore(staffSessionWord);
  const { staff, caseRef, busy, error } = useAppStore(
    useShallow((s) => ({
      staff: s.session?.staff ?? null,
      caseRef: s.session?.case_ref ?? null,
      busy: s.staff.busy,
      error: s.staff.error,
    })),
  );
  const openRating = useAppStore((s) => s.openRating);
  const cancelRating = useAppStore((s) => s.cancelRating);
  const [caseInput, setCaseInput] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const waiting = word === 'waiting';

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
    if (waiting || busy) return;
    if (await openRating(caseInput)) setCaseInput('');
  }

  return (
    <div className="screen staff">
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

      <main className="staff__main">
        <section className="staff-state" aria-labelledby="staff-state-label">
          <h2 id="staff-state-label" className="staff-state__label">
            {t('staff.stateLabel')}
          </h2>
          <p className={`staff-state__word staff-state__word--${word}`} role="status">
            {t(`staff.state.${word}`)}
          </p>
          {word !== 'idle' && (
            <p className="staff-state__case">
              {t('staff.caseRef')}：{caseRef ? <bdi dir="ltr">{caseRef}</bdi> : t('staff.noCase')}
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
            disabled={waiting}
            aria-describedby="case-hint"
            onChange={(e) => setCaseInput(e.target.value)}
          />
          <p id="case-hint" className="staff-form__hint">
            {t('staff.caseHint')}
          </p>
          {/* Busy buttons stay focusable (aria-disabled, not disabled) so keyboard focus is never lost. */}
          <div className="staff-form__actions">
            {!waiting && (
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
      </main>

      <StatusStrip />
    </div>
  );
}

function StatusStrip() {
  const { t } = useTranslation();
  const { pad, queue, hub, link } = useAppStore(
    useShallow((s) => ({
      pad: s.pad?.link ?? null,
      queue: s.sync?.queue_depth ?? null,
      hub: s.sync?.hub ?? null,
      link: s.connection,
    })),
  );
  const items: Array<{ key: string; text: string; bad: boolean }> = [
    {
      key: 'pad',
      text: t('staff.status.pad', { value: pad ? t(`staff.pad.${pad}`) : '—' }),
      bad: pad === 'down',
    },
    { key: 'queue', text: t('staff.status.queue', { n: queue ?? '—' }), bad: false },
    {
      key: 'hub',
      text: t('staff.status.hub', { value: hub ? t(`staff.hub.${hub}`) : '—' }),
      bad: hub === 'unreachable' || hub === 'rejected',
    },
    { key: 'link', text: t('staff.status.link', { value: t(`staff.link.${link}`) }), bad: link !== 'open' },
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
    </footer>
  );
}
