import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useShallow } from 'zustand/react/shallow';
import { LEVEL_LABELS_ZH, LEVELS, type Level } from '../../src-shared/levels.ts';
import { Face } from '../components/Face.tsx';
import { CheckIcon, WarningIcon } from '../components/Icons.tsx';
import { LanguageSwitch } from '../components/LanguageSwitch.tsx';
import { StaffCard } from '../components/StaffCard.tsx';
import type { Locale } from '../i18n/index.ts';
import { useAppStore } from '../state/context.tsx';
import { type CitizenView, citizenProblem, citizenView } from '../state/views.ts';

/**
 * The screen that faces the citizen. Privacy (ui-guidelines §2, threat T2): the thank-you is the
 * same for every level and never shows or speaks it; thanks appear only once the store committed.
 */
export function CitizenScreen({ defaultLocale }: { defaultLocale: Locale }) {
  const view = useAppStore(useShallow(citizenView));
  const problem = useAppStore(citizenProblem);
  const sessionState = useAppStore((s) => s.session?.state ?? 'idle');
  const { t, i18n } = useTranslation();

  // End of a visit: the next citizen starts in the hall's default language.
  const lastState = useRef(sessionState);
  useEffect(() => {
    if (sessionState === 'idle' && lastState.current !== 'idle' && i18n.language !== defaultLocale) {
      void i18n.changeLanguage(defaultLocale);
    }
    lastState.current = sessionState;
  }, [sessionState, defaultLocale, i18n]);

  return (
    <div className="screen citizen" data-screen={view.screen}>
      <header className="citizen__header">
        <StaffCard staff={view.staff} />
      </header>
      <main className="citizen__main">
        {view.screen === 'idle' && <Welcome />}
        {view.screen === 'rating' && <Rating view={view} />}
        {view.screen === 'thanks' && <Thanks receipt={view.receipt} />}
      </main>
      <footer className="citizen__footer">
        <p className="problem-line" role="status">
          {problem && (
            <>
              <WarningIcon />
              <span>{t(problem === 'link' ? 'problem.link' : 'problem.pad')}</span>
            </>
          )}
        </p>
        <LanguageSwitch />
      </footer>
    </div>
  );
}

function Welcome() {
  const { t } = useTranslation();
  return (
    <section className="welcome">
      <h1 className="welcome__title">{t('citizen.welcome')}</h1>
    </section>
  );
}

function Rating({ view }: { view: Extract<CitizenView, { screen: 'rating' }> }) {
  const { t, i18n } = useTranslation();
  const submitRating = useAppStore((s) => s.submitRating);
  const showChinese = i18n.language !== 'zh-CN';
  const labelDir = i18n.dir();
  return (
    <section className="rating" aria-labelledby="rating-prompt">
      <h1 id="rating-prompt" className="rating__prompt">
        {t('citizen.prompt')}
      </h1>
      {/* The physical order of the pad: never mirrored, whatever the language (ui-guidelines §2, §4). */}
      {/* Skeleton "pad flow": a touch is the rating. The two-tap select-then-提交 flow and the 差评
          reason step (ui-guidelines §1 Steps, §2) are a later issue. */}
      <fieldset className="rating__row" dir="ltr" aria-describedby="rating-notice">
        <legend className="visually-hidden">{t('citizen.levels')}</legend>
        {LEVELS.map((level: Level) => {
          const label = t(`level.${level}`);
          const pressed = view.pressed === level;
          const locked = view.pressed !== null;
          return (
            <button
              key={level}
              type="button"
              className={pressed ? 'rating-button is-pressed' : 'rating-button'}
              aria-disabled={locked && !pressed ? true : undefined}
              aria-busy={pressed || undefined}
              onClick={() => {
                if (!locked) void submitRating(level);
              }}
            >
              <Face level={level} size={150} />
              <span className="rating-button__label" dir={labelDir}>
                {label}
              </span>
              {showChinese && label !== LEVEL_LABELS_ZH[level] && (
                <span className="rating-button__label-zh" lang="zh-CN" dir="ltr">
                  {LEVEL_LABELS_ZH[level]}
                </span>
              )}
            </button>
          );
        })}
      </fieldset>
      <div id="rating-notice" className="rating__notice">
        {view.notice === 'submitting' && (
          <p className="notice notice--info" role="status">
            {t('citizen.submitting')}
          </p>
        )}
        {view.notice === 'failed' && (
          <p className="notice notice--error" role="alert">
            <WarningIcon />
            <span>{t('citizen.failed')}</span>
          </p>
        )}
      </div>
    </section>
  );
}

/** Identical for all five levels: nothing in here may depend on which level was given. */
function Thanks({ receipt }: { receipt: string | null }) {
  const { t } = useTranslation();
  return (
    <section className="thanks" role="status">
      <CheckIcon />
      <h1 className="thanks__title">{t('citizen.thanks')}</h1>
      {receipt && (
        <p className="thanks__receipt">
          {t('citizen.receipt')} <bdi dir="ltr">{receipt}</bdi>
        </p>
      )}
    </section>
  );
}
