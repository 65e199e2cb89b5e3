import { useTranslation } from 'react-i18next';
import { LOCALES } from '../i18n/index.ts';

/** Language names in their own script, no flags (ui-guidelines §4). */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <fieldset className="language-switch">
      <legend className="visually-hidden">{t('language.label')}</legend>
      {LOCALES.map((locale) => (
        <button
          key={locale}
          type="button"
          lang={locale}
          className="language-switch__button"
          aria-pressed={i18n.language === locale}
          onClick={() => void i18n.changeLanguage(locale)}
        >
          {t(`language.${locale}`)}
        </button>
      ))}
    </fieldset>
  );
}
