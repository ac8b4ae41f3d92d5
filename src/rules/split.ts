// Splitting 100 percent across experiment cells that give no percent.

/**
 * Even split of 100 over `n` cells in whole percents: every cell gets floor(100 / n) and the
 * remainder goes one percent at a time to the first cells in declaration order.
 * 3 cells -> [34, 33, 33]; 6 cells -> [17, 17, 17, 17, 16, 16].
 * Whole percents keep bucket boundaries exact (10,000 buckets = 100 per percent).
 */
export function splitEvenly(n: number): number[] {
  if (n <= 0) return [];
  const base = Math.floor(100 / n);
  const remainder = 100 - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < remainder ? 1 : 0));
}
