import type { Level } from '../../src-shared/levels.ts';

/** Face colours of ui-guidelines §2, each ≥ 5:1 on white and distinct under colour-vision deficiency. */
export const FACE_COLOURS: Readonly<Record<Level, string>> = {
  5: '#0A3D7A',
  4: '#2A70B8',
  3: '#5C6166',
  2: '#BD4B0B',
  1: '#7A1F1F',
};

/**
 * Mouths differ by level (big smile, smile, flat, frown, deep frown), so the faces still read in
 * greyscale: colour is never the only cue. Never mirrored in RTL.
 */
const MOUTHS: Readonly<Record<Level, { d: string; filled: boolean }>> = {
  5: { d: 'M32 66 Q60 104 88 66 Z', filled: true },
  4: { d: 'M36 72 Q60 96 84 72', filled: false },
  3: { d: 'M38 82 L82 82', filled: false },
  2: { d: 'M38 90 Q60 70 82 90', filled: false },
  1: { d: 'M34 96 Q60 56 86 96', filled: false },
};

export function Face({ level, size }: { level: Level; size: number }) {
  const mouth = MOUTHS[level];
  return (
    <svg
      className="face"
      width={size}
      height={size}
      viewBox="0 0 120 120"
      aria-hidden="true"
      focusable="false"
      data-mouth={level}
    >
      <circle cx="60" cy="60" r="56" fill={FACE_COLOURS[level]} />
      <circle cx="42" cy="46" r="7.5" fill="#FFFFFF" />
      <circle cx="78" cy="46" r="7.5" fill="#FFFFFF" />
      {mouth.filled ? (
        <path d={mouth.d} fill="#FFFFFF" stroke="#FFFFFF" strokeWidth="4" strokeLinejoin="round" />
      ) : (
        <path d={mouth.d} fill="none" stroke="#FFFFFF" strokeWidth="8" strokeLinecap="round" />
      )}
    </svg>
  );
}
