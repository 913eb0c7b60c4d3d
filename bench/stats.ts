/** A floor (`≥`, more is better) or a ceiling (`≤` / `<`, less is better). */
export type TargetKind = 'at least' | 'at most' | 'below';

const TARGET_SYMBOLS: Record<TargetKind, string> = { 'at least': '≥', 'at most': '≤', below: '<' };

/** A number the issue asks for; reported, never asserted. */
export interface Target {
  kind: TargetKind;
  value: number;
  /** How the value reads in the report, e.g. `×` or ` ms`. */
  unit: string;
}

/** A target set against what was measured. */
export interface TargetCheck {
  met: boolean;
  /** `met`, or how far off in percent of the target, e.g. `missed by 12 %`. */
  verdict: string;
}

/** The median; `NaN` for no values, so a missing measurement never reads as a number. */
export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const middle = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[middle] : (finite[middle - 1] + finite[middle]) / 2;
}

/**
 * Median of the per-round ratios `a[i] / b[i]`. Rounds are interleaved, so each pair ran
 * under the same machine load; pairing cancels most of the drift between rounds.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (b[i] > 0 && Number.isFinite(a[i])) ratios.push(a[i] / b[i]);
  }
  return median(ratios);
}

export function checkTarget(target: Target, actual: number): TargetCheck {
  if (!Number.isFinite(actual)) return { met: false, verdict: 'not measured' };
  const met =
    target.kind === 'at least'
      ? actual >= target.value
      : target.kind === 'at most'
        ? actual <= target.value
        : actual < target.value;
  if (met) return { met, verdict: 'met' };
  const off = (Math.abs(actual - target.value) / target.value) * 100;
  return { met, verdict: `missed by ${off < 10 ? off.toFixed(1) : Math.round(off)} %` };
}

export function describeTarget(target: Target): string {
  return `${TARGET_SYMBOLS[target.kind]} ${target.value}${target.unit}`;
}

/** Three significant digits at most, thousands grouped with thin spaces; `–` when missing. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const digits = abs >= 100 || abs === 0 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const [whole, fraction] = value.toFixed(digits).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

export function formatRatio(ratio: number, against: string): string {
  return Number.isFinite(ratio) ? `${formatNumber(ratio)}× ${against}` : `– × ${against}`;
}

/** A GitHub-flavoured markdown table; pipes and newlines inside cells are escaped. */
export function markdownTable(headers: readonly string[], rows: readonly string[][]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}
