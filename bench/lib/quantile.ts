/** The q-quantile of xs (nearest rank, 0 ≤ q ≤ 1; 0.5 is the median); NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}
