import { useEffect, useMemo, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useShallow } from 'zustand/react/shallow';
import { LEVEL_LABELS_ZH, LEVELS, type Level } from '../../src-shared/levels.ts';
import { Face } from '../components/Face.tsx';
import { CheckIcon, PauseIcon, WarningIcon } from '../components/Icons.tsx';
import { LanguageSwitch } from '../components/LanguageSwitch.tsx';
import { StaffCard } from '../components/StaffCard.tsx';
import type { Locale } from '../i18n/index.ts';
import { useAppStore } from '../state/context.tsx';
import { type CitizenView, citizenProblem, citizenView } from '../state/views.ts';
import { wedgeAction, wedgeMapFromLocation } from '../wedge.ts';

type RatingView = Extract<CitizenView, { screen: 'rating' }>;
type ReasonView = Extract<CitizenView, { screen: 'reason' }>;

/**
 * The screen that faces the citizen. Privacy (ui-guidelines §2, threat T2): the thank-you is the
 * same for every level and never shows or speaks it; thanks appear only once the store committed.
 */
export function CitizenScreen({ defaultLocale }: { defaultLocale: Locale }) {
  const { t, i18n } = useTranslation();
  // Select the store's own (stable) objects, then derive: a derived view holds fresh arrays.
  const parts = useAppStore(
    useShallow((s) => ({
      session: s.session,
      submit: s.submit,
      draft: s.draft,
      store: s.store,
      reasons: s.reasons,
    })),
  );
  const view = useMemo(() => citizenView(parts, i18n.language), [parts, i18n.language]);
  const problem = useAppStore(citizenProblem);
  const sessionState = useAppStore((s) => s.session?.state ?? 'idle');
  const touch = useAppStore((s) => s.touch);
  const wedgePress = useAppStore((s) => s.wedgePress);

  // End of a visit: the next citizen starts in the hall's default language.
  const lastState = useRef(sessionState);
  useEffect(() => {
    const visiting = (s: string) => s === 'rating_open' || s === 'thanks';
    if (!visiting(sessionState) && visiting(lastState.current) && i18n.language !== defaultLocale) {
      void i18n.changeLanguage(defaultLocale);
    }
    lastState.current = sessionState;
  }, [sessionState, defaultLocale, i18n]);

  // Any touch or key while rating restarts the idle limits (the store throttles rating.activity).
  useEffect(() => {
    if (sessionState !== 'rating_open') return;
    const onActivity = () => touch();
    document.addEventListener('pointerdown', onActivity, true);
    document.addEventListener('keydown', onActivity, true);
    return () => {
      document.removeEventListener('pointerdown', onActivity, true);
      document.removeEventListener('keydown', onActivity, true);
    };
  }, [sessionState, touch]);

  // Keyboard-wedge pads (wedge.ts): their keys rate only while a rating is open, and never do
  // anything else (F5 must not reload the page).
  const wedgeMap = useMemo(() => wedgeMapFromLocation(window.location), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = wedgeAction(e, sessionState === 'rating_open', wedgeMap);
      if (action.kind === 'ignore') return;
      e.preventDefault();
      if (action.kind === 'rate') void wedgePress(action.level);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [sessionState, wedgeMap, wedgePress]);

  const staff = view.screen === 'signed_out' ? null : view.staff;
  return (
    <div className="screen citizen" data-screen={view.screen}>
      <header className="citizen__header">{staff && <StaffCard staff={staff} />}</header>
      <main className="citizen__main">
        {view.screen === 'signed_out' && (
          <Notice title={t('citizen.signedOut')} text={t('citizen.signedOutHint')} />
        )}
        {view.screen === 'paused' && (
          <Notice
            title={t('citizen.paused')}
            text={t(`citizen.pausedReason.${view.reason ?? 'other'}`)}
            icon={<PauseIcon />}
          />
        )}
        {view.screen === 'idle' && <Welcome />}
        {view.screen === 'unavailable' && (
          <Notice title={t('citizen.unavailable')} icon={<WarningIcon size={120} />} />
        )}
        {view.screen === 'rating' && <Rating view={view} />}
        {view.screen === 'reason' && <Reasons view={view} />}
        {view.screen === 'thanks' && <Thanks receipt={view.receipt} />}
      </main>
      <footer className="citizen__footer">
        <p className="problem-line" role="status">
          {problem && (
            <>
              <WarningIcon />
              <span>{t(`problem.${problem}`)}</span>
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

/** A calm full-screen message (no staff, paused, cannot rate now): words first, icon beside. */
function Notice({ title, text, icon }: { title: string; text?: string; icon?: React.ReactNode }) {
  return (
    <section className="calm" role="status">
      {icon}
      <h1 className="calm__title">{title}</h1>
      {text && <p className="calm__text">{text}</p>}
    </section>
  );
}

function LevelLabel({ level }: { level: Level }) {
  const { t, i18n } = useTranslation();
  const label = t(`level.${level}`);
  const showChinese = i18n.language !== 'zh-CN' && label !== LEVEL_LABELS_ZH[level];
  return (
    <>
      <span className="rating-button__label" dir={i18n.dir()}>
        {label}
      </span>
      {showChinese && (
        <span className="rating-button__label-zh" lang="zh-CN" dir="ltr">
          {LEVEL_LABELS_ZH[level]}
        </span>
      )}
    </>
  );
}

/** Step 1: five levels; a touched level gets a ring + ✓ + 已选择, then 提交 (ui-guidelines §2). */
function Rating({ view }: { view: RatingView }) {
  const { t } = useTranslation();
  const chooseLevel = useAppStore((s) => s.chooseLevel);
  const submitDraft = useAppStore((s) => s.submitDraft);
  return (
    <section className="rating" aria-labelledby="rating-prompt">
      <h1 id="rating-prompt" className="rating__prompt">
        {t('citizen.prompt')}
      </h1>
      {/* The physical order of the pad: never mirrored, whatever the language (ui-guidelines §2, §4). */}
      <fieldset className="rating__row" dir="ltr" aria-describedby="rating-notice">
        <legend className="visually-hidden">{t('citizen.levels')}</legend>
        {LEVELS.map((level: Level) => {
          const selected = view.selected === level;
          const locked = view.pressed;
          return (
            <button
              key={level}
              type="button"
              className={selected ? 'rating-button is-selected' : 'rating-button'}
              aria-pressed={selected}
              aria-disabled={locked && !selected ? true : undefined}
              aria-busy={(locked && selected) || undefined}
              onClick={() => {
                if (!locked) chooseLevel(level);
              }}
            >
              <Face level={level} size={150} />
              <LevelLabel level={level} />
              <span className="rating-button__chosen" aria-hidden="true">
                {selected ? `✓ ${t('citizen.selected')}` : ''}
              </span>
            </button>
          );
        })}
      </fieldset>
      <div className="rating__actions">
        {view.selected !== null && (
          <>
            <AnonymousToggle view={view} />
            <button
              type="button"
              className="button button--primary button--submit"
              aria-disabled={view.pressed || undefined}
              onClick={() => {
                if (!view.pressed) void submitDraft();
              }}
            >
              {t('citizen.submit')}
            </button>
          </>
        )}
        <SubmitNotice notice={view.notice} expiring={view.expiring} />
      </div>
    </section>
  );
}

/** Step 2 of a 差评: that level's reasons from the centre's dictionary, at least one, 返回重选 always. */
function Reasons({ view }: { view: ReasonView }) {
  const { t } = useTranslation();
  const toggleReason = useAppStore((s) => s.toggleReason);
  const backToLevels = useAppStore((s) => s.backToLevels);
  const submitDraft = useAppStore((s) => s.submitDraft);
  const ready = view.chosen.length > 0;
  return (
    <section className="reason" aria-labelledby="reason-prompt">
      <div className="reason__head">
        <p className="reason__level">
          <span>{t('citizen.yourRating')}</span>
          <Face level={view.level} size={56} />
          <strong>{t(`level.${view.level}`)}</strong>
        </p>
        <h1 id="reason-prompt" className="rating__prompt">
          {t('citizen.reasonPrompt')}
        </h1>
      </div>
      {view.reasons === null ? (
        <p className="reason__loading" role="status">
          {t('citizen.reasonsLoading')}
        </p>
      ) : (
        <fieldset className="reason__list">
          <legend className="visually-hidden">{t('citizen.reasonPrompt')}</legend>
          {view.reasons.map((r) => {
            const on = view.chosen.includes(r.code);
            return (
              <button
                key={r.code}
                type="button"
                className={on ? 'reason-button is-selected' : 'reason-button'}
                aria-pressed={on}
                aria-disabled={view.pressed || undefined}
                data-code={r.code}
                onClick={() => {
                  if (!view.pressed) toggleReason(r.code);
                }}
              >
                <span className="reason-button__mark" aria-hidden="true">
                  {on ? '✓' : ''}
                </span>
                <span lang={r.lang}>{r.text}</span>
              </button>
            );
          })}
        </fieldset>
      )}
      <div className="rating__actions">
        <button
          type="button"
          className="button button--secondary"
          aria-disabled={view.pressed || undefined}
          onClick={() => {
            if (!view.pressed) backToLevels();
          }}
        >
          {t('citizen.back')}
        </button>
        <AnonymousToggle view={view} />
        <button
          type="button"
          className="button button--primary button--submit"
          aria-disabled={!ready || view.pressed || undefined}
          aria-describedby={ready ? undefined : 'reason-required'}
          onClick={() => {
            if (ready && !view.pressed) void submitDraft();
          }}
        >
          {t('citizen.submit')}
        </button>
      </div>
      <div id="rating-notice" className="rating__notice">
        {view.notice !== 'none' ? (
          <NoticeLine notice={view.notice} />
        ) : view.expiring ? (
          <p className="notice notice--info" role="status">
            {t('citizen.expiring')}
          </p>
        ) : ready ? null : (
          <p id="reason-required" className="notice notice--hint">
            {t('citizen.reasonRequired')}
          </p>
        )}
      </div>
    </section>
  );
}

/** 匿名评价: offered only when the case allows it; a toggle, never pre-selected. */
function AnonymousToggle({ view }: { view: RatingView | ReasonView }) {
  const { t } = useTranslation();
  const toggleAnonymous = useAppStore((s) => s.toggleAnonymous);
  if (!view.anonymousOffered) return null;
  return (
    <button
      type="button"
      className={view.anonymous ? 'toggle is-on' : 'toggle'}
      aria-pressed={view.anonymous}
      aria-disabled={view.pressed || undefined}
      onClick={() => {
        if (!view.pressed) toggleAnonymous();
      }}
    >
      <span className="toggle__box" aria-hidden="true">
        {view.anonymous ? '✓' : ''}
      </span>
      {t('citizen.anonymous')}
    </button>
  );
}

function SubmitNotice({ notice, expiring }: { notice: RatingView['notice']; expiring: boolean }) {
  const { t } = useTranslation();
  return (
    <div id="rating-notice" className="rating__notice">
      {notice === 'none' && expiring ? (
        <p className="notice notice--info" role="status">
          {t('citizen.expiring')}
        </p>
      ) : (
        <NoticeLine notice={notice} />
      )}
    </div>
  );
}

function NoticeLine({ notice }: { notice: RatingView['notice'] }) {
  const { t } = useTranslation();
  if (notice === 'submitting')
    return (
      <p className="notice notice--info" role="status">
        {t('citizen.submitting')}
      </p>
    );
  if (notice === 'failed')
    return (
      <p className="notice notice--error" role="alert">
        <WarningIcon />
        <span>{t('citizen.failed')}</span>
      </p>
    );
  return null;
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
