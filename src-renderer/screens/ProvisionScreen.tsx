import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { TrustStatus } from '../../src-shared/calls.ts';
import { WarningIcon } from '../components/Icons.tsx';
import { useAppStore } from '../state/context.tsx';

/**
 * What IT typed or scanned: the bare token, or the QR payload `haocha hub token` prints
 * ({"hub":…,"token":…,"hall":…,"window":…}) as a handheld scanner types it.
 */
export function readTokenInput(text: string): { token: string; hubUrl?: string } | null {
  const raw = text.trim();
  if (raw === '') return null;
  if (raw.startsWith('{')) {
    try {
      const qr = JSON.parse(raw) as { hub?: unknown; token?: unknown };
      if (typeof qr.token !== 'string') return null;
      return typeof qr.hub === 'string' ? { token: qr.token, hubUrl: qr.hub } : { token: qr.token };
    } catch {
      return null;
    }
  }
  return /^[A-Za-z0-9_-]{16,128}$/.test(raw) ? { token: raw } : null;
}

/**
 * IT staff's provisioning and diagnostics panel (#/provision): is this terminal enrolled at the hub
 * and signing, and enrollment with a token made at the hub. The key is made and kept by the host
 * (safeStorage under Electron); nothing secret is shown here. Reached from the staff screen.
 */
export function ProvisionScreen() {
  const { t } = useTranslation();
  const trustStatus = useAppStore((s) => s.trustStatus);
  const enroll = useAppStore((s) => s.enroll);
  const [status, setStatus] = useState<TrustStatus | null>(null);
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ bad: boolean; text: string } | null>(null);

  const load = useCallback(async () => {
    const result = await trustStatus();
    if (result.ok) setStatus(result.value);
    else
      setMessage({
        bad: true,
        text: t(`error.${result.error.code}`, { defaultValue: result.error.message }),
      });
  }, [trustStatus, t]);

  useEffect(() => {
    void load();
  }, [load]);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const parsed = readTokenInput(input);
    if (!parsed) {
      setMessage({ bad: true, text: t('provision.badInput') });
      return;
    }
    setBusy(true);
    setMessage(null);
    const result = await enroll(parsed.token, parsed.hubUrl);
    setBusy(false);
    if (result.ok) {
      setStatus(result.value);
      setInput('');
      setMessage({ bad: false, text: t('provision.done') });
    } else {
      // The code in words; the hub's own message beside it, for IT.
      setMessage({
        bad: true,
        text: `${t(`error.${result.error.code}`, { defaultValue: result.error.code })}（${result.error.message}）`,
      });
    }
  }

  const state = !status
    ? t('app.loading')
    : status.signing
      ? t('provision.state.signing')
      : status.enrolled
        ? t('provision.state.enrolledNotSigning')
        : t('provision.state.notEnrolled');

  return (
    <div className="screen staff provision">
      <header className="staff__header">
        <h1 className="staff__title">{t('provision.title')}</h1>
        <a className="button button--secondary" href="#/staff">
          {t('provision.back')}
        </a>
      </header>
      <main className="staff__main">
        <section className="staff-state" aria-labelledby="trust-label">
          <h2 id="trust-label" className="staff-state__label">
            {t('provision.stateLabel')}
          </h2>
          <p
            className={`staff-state__word${status && !status.signing ? ' is-bad' : ''}`}
            role="status"
            data-testid="trust-state"
          >
            {state}
          </p>
          {status && (
            <dl className="provision__facts">
              <dt>{t('provision.deviceId')}</dt>
              <dd>
                <bdi dir="ltr">{status.device_id}</bdi>
              </dd>
              <dt>{t('provision.hub')}</dt>
              <dd>
                <bdi dir="ltr">{status.hub_url}</bdi>
              </dd>
              {status.enrolled && (
                <>
                  <dt>{t('provision.place')}</dt>
                  <dd>
                    <bdi dir="ltr">
                      {status.hall_id} / {status.window_id}
                    </bdi>
                  </dd>
                  <dt>{t('provision.enrolledAt')}</dt>
                  <dd>
                    <bdi dir="ltr">{status.enrolled_at}</bdi>
                  </dd>
                </>
              )}
              {status.problem && (
                <>
                  <dt>{t('provision.problem')}</dt>
                  <dd>{status.problem}</dd>
                </>
              )}
            </dl>
          )}
        </section>

        {status && !status.signing && (
          <form className="staff-form" onSubmit={onSubmit}>
            <label className="staff-form__label" htmlFor="enroll-token">
              {t('provision.tokenLabel')}
            </label>
            <input
              id="enroll-token"
              className="staff-form__input"
              type="text"
              autoComplete="off"
              spellCheck={false}
              dir="ltr"
              maxLength={600}
              value={input}
              aria-describedby="enroll-hint"
              onChange={(e) => {
                setInput(e.target.value);
                setMessage(null);
              }}
            />
            <p id="enroll-hint" className="staff-form__hint">
              {t('provision.tokenHint')}
            </p>
            <div className="staff-form__actions">
              <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
                {busy ? t('provision.enrolling') : t('provision.enroll')}
              </button>
            </div>
          </form>
        )}
        {message && (
          <p
            className={message.bad ? 'staff-form__error' : 'staff-form__hint'}
            role={message.bad ? 'alert' : 'status'}
            data-testid="enroll-message"
          >
            {message.bad && <WarningIcon size={32} />}
            {message.text}
          </p>
        )}
      </main>
    </div>
  );
}
