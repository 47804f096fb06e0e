/** Number and name formatting for the one-sentence explanations of insights. */
import { EVERY_UNIT } from './grid.js';

/** A fraction as a percentage: 1 decimal, or 2 below 1% so small effects stay visible ("0.40%"). */
export function percent(fraction: number): string {
  const value = fraction * 100;
  return `${value.toFixed(Math.abs(value) < 1 ? 2 : 1)}%`;
}

export function signedPercent(fraction: number): string {
  return `${fraction >= 0 ? '+' : '-'}${percent(Math.abs(fraction))}`;
}

export function signed(value: number, digits = 2): string {
  return `${value >= 0 ? '+' : '-'}${Math.abs(value).toFixed(digits)}`;
}

export function unitName(unit: string): string {
  if (unit === EVERY_UNIT) return 'every unit';
  return unit === 'stem' ? 'the stem' : `unit ${unit.slice(1)}`;
}

/** "unit 3", "units 0-4", "units 0, 2-3". */
export function unitList(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return `${sorted.length === 1 ? 'unit' : 'units'} ${ranges.join(', ')}`;
}

export function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
