import { useTranslation } from 'react-i18next';

const DIGITS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/**
 * A large on-screen numeric keypad (targets ≥ 96 px, ui-guidelines §1), for touch; every key is a
 * real button, so it also works with Tab + Enter, and the fields beside it take typed digits.
 */
export function Keypad({
  onDigit,
  onBackspace,
  onClear,
  disabled,
}: {
  onDigit: (digit: string) => void;
  onBackspace: () => void;
  onClear: () => void;
  disabled: boolean;
}) {
  const { t } = useTranslation();
  const key = (label: string, name: string, run: () => void, extra = '') => (
    <button
      key={name}
      type="button"
      className={`keypad__key ${extra}`.trim()}
      aria-label={name}
      aria-disabled={disabled || undefined}
      onClick={() => {
        if (!disabled) run();
      }}
    >
      {label}
    </button>
  );
  return (
    // The digits of a keypad keep their telephone layout in every language: pinned LTR.
    <fieldset className="keypad" dir="ltr">
      <legend className="visually-hidden">{t('staff.signIn.keypad')}</legend>
      {DIGITS.map((d) => key(d, d, () => onDigit(d)))}
      {key(t('staff.signIn.clear'), t('staff.signIn.clear'), onClear, 'keypad__key--word')}
      {key('0', '0', () => onDigit('0'))}
      {key('⌫', t('staff.signIn.backspace'), onBackspace, 'keypad__key--word')}
    </fieldset>
  );
}
