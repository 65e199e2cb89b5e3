import { type FormEvent, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useShallow } from 'zustand/react/shallow';
import { WarningIcon } from '../components/Icons.tsx';
import { Keypad } from '../components/Keypad.tsx';
import { useAppStore } from '../state/context.tsx';
import { signInProblem } from '../state/views.ts';

type Field = 'staff_no' | 'pin';
const PIN_RE = /^[0-9]{4,12}$/;

/**
 * Staff sign-in: staff number and PIN, typed on the keypad (touch) or the keyboard. The PIN is
 * masked, kept only in this component until sent, and cleared after every attempt. A failure never
 * says which of the two was wrong.
 */
export function SignIn() {
  const { t } = useTranslation();
  const { busy, error } = useAppStore(useShallow((s) => ({ busy: s.staff.busy, error: s.staff.error })));
  const signIn = useAppStore((s) => s.signIn);
  const clearStaffError = useAppStore((s) => s.clearStaffError);
  const [staffNo, setStaffNo] = useState('');
  const [pin, setPin] = useState('');
  const [active, setActive] = useState<Field>('staff_no');
  const [incomplete, setIncomplete] = useState(false);
  const staffRef = useRef<HTMLInputElement>(null);
  const pinRef = useRef<HTMLInputElement>(null);
  const working = busy === 'sign_in';

  const value = active === 'staff_no' ? staffNo : pin;
  const setValue = (next: string) => {
    setIncomplete(false);
    if (error) clearStaffError();
    if (active === 'staff_no') setStaffNo(next.slice(0, 32));
    else setPin(next.replace(/\D/g, '').slice(0, 12));
  };
  const focus = (field: Field) => {
    setActive(field);
    (field === 'staff_no' ? staffRef : pinRef).current?.focus({ preventScroll: true });
  };

  async function onSubmit(e?: FormEvent) {
    e?.preventDefault();
    if (working) return;
    if (staffNo.trim() === '') return focus('staff_no');
    if (active === 'staff_no' && pin === '') return focus('pin');
    if (!PIN_RE.test(pin)) {
      setIncomplete(true);
      return focus('pin');
    }
    const sent = pin;
    setPin('');
    const okay = await signIn(staffNo, sent);
    if (!okay) focus('pin');
  }

  const problem = signInProblem(error);
  let message: string | null = null;
  if (incomplete) message = t('staff.signIn.incomplete');
  else if (problem?.kind === 'bad_credentials') message = t('staff.signIn.bad');
  else if (problem?.kind === 'locked')
    message =
      problem.lockedS === null
        ? t('staff.signIn.lockedNoTime')
        : t('staff.signIn.locked', { minutes: Math.max(1, Math.ceil(problem.lockedS / 60)) });
  else if (error) message = t('staff.error', { reason: t(`error.${error.code}`) });

  return (
    <main className="sign-in">
      <form className="sign-in__form" onSubmit={onSubmit} noValidate>
        <h2 className="sign-in__title">{t('staff.signIn.title')}</h2>
        <div className={active === 'staff_no' ? 'sign-in__field is-active' : 'sign-in__field'}>
          <label htmlFor="sign-in-staff-no">{t('staff.signIn.staffNo')}</label>
          <input
            ref={staffRef}
            id="sign-in-staff-no"
            className="staff-form__input"
            type="text"
            inputMode="numeric"
            autoComplete="off"
            spellCheck={false}
            dir="ltr"
            maxLength={32}
            value={staffNo}
            onFocus={() => setActive('staff_no')}
            onChange={(e) => {
              setIncomplete(false);
              if (error) clearStaffError();
              setStaffNo(e.target.value.slice(0, 32));
            }}
          />
        </div>
        <div className={active === 'pin' ? 'sign-in__field is-active' : 'sign-in__field'}>
          <label htmlFor="sign-in-pin">{t('staff.signIn.pin')}</label>
          <input
            ref={pinRef}
            id="sign-in-pin"
            className="staff-form__input"
            type="password"
            inputMode="numeric"
            autoComplete="off"
            dir="ltr"
            maxLength={12}
            value={pin}
            aria-describedby="sign-in-message"
            onFocus={() => setActive('pin')}
            onChange={(e) => {
              setIncomplete(false);
              if (error) clearStaffError();
              setPin(e.target.value.replace(/\D/g, '').slice(0, 12));
            }}
          />
        </div>
        <div id="sign-in-message" className="sign-in__message">
          {message && (
            <p className="notice notice--error" role="alert">
              <WarningIcon />
              <span>{message}</span>
            </p>
          )}
        </div>
        <div className="staff-form__actions">
          {active === 'staff_no' && pin === '' ? (
            <button type="submit" className="button button--primary">
              {t('staff.signIn.next')}
            </button>
          ) : (
            <button type="submit" className="button button--primary" aria-disabled={working || undefined}>
              {working ? t('staff.signIn.signingIn') : t('staff.signIn.submit')}
            </button>
          )}
        </div>
      </form>
      <Keypad
        disabled={working}
        onDigit={(d) => setValue(value + d)}
        onBackspace={() => setValue(value.slice(0, -1))}
        onClear={() => setValue('')}
      />
    </main>
  );
}
