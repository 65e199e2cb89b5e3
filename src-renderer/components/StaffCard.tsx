import { useTranslation } from 'react-i18next';
import type { StaffView } from '../../src-shared/calls.ts';

/** Photo (alt = name, WCAG 1.1.1), name, staff number and window, as ui-guidelines §2 asks. */
export function StaffCard({
  staff,
  size = 'normal',
}: {
  staff: StaffView | null;
  size?: 'normal' | 'large';
}) {
  const { t } = useTranslation();
  if (!staff) {
    return (
      <div className={`staff-card staff-card--${size}`}>
        <PhotoPlaceholder label={t('card.noStaff')} />
        <div className="staff-card__text">
          <p className="staff-card__name">{t('card.noStaff')}</p>
        </div>
      </div>
    );
  }
  return (
    <div className={`staff-card staff-card--${size}`}>
      {staff.photo_url ? (
        <img className="staff-card__photo" src={staff.photo_url} alt={staff.name} />
      ) : (
        <PhotoPlaceholder label={staff.name} />
      )}
      <div className="staff-card__text">
        <p className="staff-card__name">
          <bdi>{staff.name}</bdi>
        </p>
        <p className="staff-card__line">
          {t('card.staffNo')} <bdi dir="ltr">{staff.staff_no}</bdi>
        </p>
        <p className="staff-card__line">
          {t('card.window')} <bdi dir="ltr">{staff.window_id}</bdi>
        </p>
      </div>
    </div>
  );
}

/** Until photos come with the config bundle: a neutral silhouette that still has the name as its text. */
function PhotoPlaceholder({ label }: { label: string }) {
  return (
    <svg className="staff-card__photo" viewBox="0 0 120 150" role="img" aria-label={label}>
      <rect width="120" height="150" fill="#E3E8EF" />
      <circle cx="60" cy="58" r="26" fill="#9AA4B1" />
      <path d="M16 150 Q16 96 60 96 Q104 96 104 150 Z" fill="#9AA4B1" />
    </svg>
  );
}
