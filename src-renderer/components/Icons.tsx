/** Small inline icons: errors and notices are words + icon, never colour alone (ui-guidelines §3). */
export function WarningIcon({ size = 40 }: { size?: number }) {
  return (
    <svg className="icon" width={size} height={size} viewBox="0 0 48 48" aria-hidden="true" focusable="false">
      <path d="M24 4 L46 43 H2 Z" fill="currentColor" />
      <rect x="21.5" y="17" width="5" height="14" rx="2" fill="#FFFFFF" />
      <circle cx="24" cy="36.5" r="3" fill="#FFFFFF" />
    </svg>
  );
}

export function CheckIcon({ size = 160 }: { size?: number }) {
  return (
    <svg
      className="icon"
      width={size}
      height={size}
      viewBox="0 0 120 120"
      aria-hidden="true"
      focusable="false"
    >
      <circle cx="60" cy="60" r="56" fill="#0A3D7A" />
      <path
        d="M32 62 L52 82 L90 40"
        fill="none"
        stroke="#FFFFFF"
        strokeWidth="10"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

/** 暂停服务: two bars in a circle, beside the words (never the only cue). */
export function PauseIcon({ size = 160 }: { size?: number }) {
  return (
    <svg
      className="icon"
      width={size}
      height={size}
      viewBox="0 0 120 120"
      aria-hidden="true"
      focusable="false"
    >
      <circle cx="60" cy="60" r="56" fill="#5C6166" />
      <rect x="40" y="34" width="14" height="52" rx="4" fill="#FFFFFF" />
      <rect x="66" y="34" width="14" height="52" rx="4" fill="#FFFFFF" />
    </svg>
  );
}
