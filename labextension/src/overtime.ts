/**
 * A record over time, as the server's ``evidence/<id>/history`` and
 * ``evidence/<id>/compare`` answer it: the shapes, their normalisation (a field of the
 * wrong type becomes its empty value, never a broken render) and the pure geometry and
 * words of the sparkline and the comparison. No DOM, no JupyterLab: jest drives it.
 */
import { formatValue, shortNumber } from './model';

export interface IHistoryPoint {
  record_id: string;
  created: string;
  value: number | null;
  ci_low: number | null;
  ci_high: number | null;
  status: string;
  threshold: number | null;
}

export interface IHistory {
  record_id: string;
  store: string;
  policy: string;
  /** Per control, oldest run first. */
  controls: { [control: string]: IHistoryPoint[] };
}

export type AlertLevel = 'none' | 'warning' | 'critical' | 'emergency';
export const ALERT_LEVELS: AlertLevel[] = ['none', 'warning', 'critical', 'emergency'];

export interface IChange {
  control_id: string;
  metric_key: string;
  /** ``higher``, ``lower``, ``closer`` (to the threshold) or ``none``. */
  better: string;
  value: number | null;
  baseline_value: number | null;
  change: number | null;
  relative_change: number | null;
  /** > 0: worse in the better direction. */
  degradation: number | null;
  p_value: number | null;
  significant: boolean | null;
  level: AlertLevel;
  status: string;
  baseline_status: string | null;
  threshold: number | null;
  baseline_threshold: number | null;
  reason: string | null;
}

export interface IComparison {
  record_id: string;
  policy_changed: boolean;
  policies: {
    baseline: { title?: string; version?: string; sha256?: string };
    current: { title?: string; version?: string; sha256?: string };
  };
  baseline: { id: string; hash: string; created: string; how: string; label: string };
  worst_level: AlertLevel;
  method: string;
  changes: IChange[];
  added: string[];
  removed: string[];
  policy_changes: { control_id: string; before: string; after: string }[];
}

function obj(v: unknown): { [key: string]: any } {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as any) : {};
}

function num(v: unknown): number | null {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function level(v: unknown): AlertLevel {
  return ALERT_LEVELS.includes(v as AlertLevel) ? (v as AlertLevel) : 'none';
}

export function normalizeHistory(raw: unknown): IHistory {
  const h = obj(raw);
  const controls: IHistory['controls'] = {};
  for (const [id, points] of Object.entries(obj(h.controls))) {
    controls[id] = (Array.isArray(points) ? points : []).map(p => {
      const q = obj(p);
      return {
        record_id: str(q.record_id),
        created: str(q.created),
        value: num(q.value),
        ci_low: num(q.ci_low),
        ci_high: num(q.ci_high),
        status: str(q.status, 'info'),
        threshold: num(q.threshold)
      };
    });
  }
  return {
    record_id: str(h.record_id),
    store: str(h.store),
    policy: str(h.policy),
    controls
  };
}

export function normalizeComparison(raw: unknown): IComparison {
  const c = obj(raw);
  const pol = obj(c.policies);
  const base = obj(c.baseline);
  return {
    record_id: str(c.record_id),
    policy_changed: c.policy_changed === true,
    policies: { baseline: obj(pol.baseline), current: obj(pol.current) },
    baseline: {
      id: str(base.id),
      hash: str(base.hash),
      created: str(base.created),
      how: str(base.how),
      label: str(base.label)
    },
    worst_level: level(c.worst_level),
    method: str(c.method),
    changes: (Array.isArray(c.changes) ? c.changes : []).map(raw => {
      const x = obj(raw);
      return {
        control_id: str(x.control_id, '?'),
        metric_key: str(x.metric_key),
        better: str(x.better, 'none'),
        value: num(x.value),
        baseline_value: num(x.baseline_value),
        change: num(x.change),
        relative_change: num(x.relative_change),
        degradation: num(x.degradation),
        p_value: num(x.p_value),
        significant: typeof x.significant === 'boolean' ? x.significant : null,
        level: level(x.level),
        status: str(x.status, 'info'),
        baseline_status: typeof x.baseline_status === 'string' ? x.baseline_status : null,
        threshold: num(x.threshold),
        baseline_threshold: num(x.baseline_threshold),
        reason: typeof x.reason === 'string' ? x.reason : null
      };
    }),
    added: strs(c.added),
    removed: strs(c.removed),
    policy_changes: (Array.isArray(c.policy_changes) ? c.policy_changes : []).map(p => {
      const q = obj(p);
      return { control_id: str(q.control_id, '?'), before: str(q.before), after: str(q.after) };
    })
  };
}

// -- the sparkline

export interface ISparkGeometry {
  /** ``x,y`` pairs of the values, in drawing order (null values leave a gap). */
  segments: string[];
  /** The threshold's y (the newest run's threshold), or null when there is none. */
  thresholdY: number | null;
  /** The marked run (the record on screen): its x and y, or null when not in the runs. */
  mark: { x: number; y: number } | null;
  /** Each value's dot, with its status (colour and a second cue: the shape). */
  dots: { x: number; y: number; status: string }[];
}

/**
 * Where a sparkline of ``points`` draws, in a ``width`` x ``height`` box with ``pad``
 * pixels of air: the y range spans the values, their intervals and the threshold, so
 * the threshold line is always in the picture.
 */
export function sparkGeometry(
  points: IHistoryPoint[],
  current: string,
  width: number,
  height: number,
  pad = 3
): ISparkGeometry {
  const thresholds = points.map(p => p.threshold).filter((v): v is number => v !== null);
  const threshold = thresholds.length ? thresholds[thresholds.length - 1] : null;
  const ys: number[] = threshold === null ? [] : [threshold];
  for (const p of points) {
    for (const v of [p.value, p.ci_low, p.ci_high]) {
      if (v !== null) {
        ys.push(v);
      }
    }
  }
  let lo = ys.length ? Math.min(...ys) : 0;
  let hi = ys.length ? Math.max(...ys) : 1;
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const n = points.length;
  const x = (i: number) => (n <= 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (n - 1));
  const y = (v: number) => pad + ((hi - v) * (height - 2 * pad)) / (hi - lo);
  const round = (v: number) => Math.round(v * 10) / 10;
  const segments: string[] = [];
  let run: string[] = [];
  const dots: ISparkGeometry['dots'] = [];
  let mark: ISparkGeometry['mark'] = null;
  points.forEach((p, i) => {
    if (p.value === null) {
      if (run.length) {
        segments.push(run.join(' '));
      }
      run = [];
      return;
    }
    const px = round(x(i));
    const py = round(y(p.value));
    run.push(`${px},${py}`);
    dots.push({ x: px, y: py, status: p.status });
    if (p.record_id === current) {
      mark = { x: px, y: py };
    }
  });
  if (run.length) {
    segments.push(run.join(' '));
  }
  return { segments, thresholdY: threshold === null ? null : round(y(threshold)), mark, dots };
}

/** The sparkline in words, for screen readers and the tooltip:
 * ``5 runs, oldest first: 0.71 pass, 0.69 pass, …; threshold 0.8; this record 0.64 fail``. */
export function sparkText(points: IHistoryPoint[], current: string): string {
  if (!points.length) {
    return 'no earlier runs';
  }
  const values = points.map(p => `${formatValue(p.value)} ${p.status}`).join(', ');
  const threshold = [...points].reverse().find(p => p.threshold !== null)?.threshold;
  const mine = points.find(p => p.record_id === current);
  return (
    `${points.length} run${points.length === 1 ? '' : 's'}, oldest first: ${values}` +
    (threshold !== undefined && threshold !== null ? `; threshold ${formatValue(threshold)}` : '') +
    (mine ? `; this record ${formatValue(mine.value)} ${mine.status}` : '')
  );
}

// -- the comparison in words

/** ``improved``, ``regressed``, ``unchanged`` or ``n/a``, from the degradation. */
export function direction(c: IChange): 'improved' | 'regressed' | 'unchanged' | 'n/a' {
  if (c.degradation === null) {
    return 'n/a';
  }
  if (Math.abs(c.degradation) < 1e-12) {
    return 'unchanged';
  }
  return c.degradation > 0 ? 'regressed' : 'improved';
}

/** The arrow of a change: which way the value moved (▲ up, ▼ down, = none), so the
 * words say whether that is better; the arrow alone never carries the verdict. */
export function arrow(c: IChange): string {
  if (c.change === null) {
    return '–';
  }
  if (Math.abs(c.change) < 1e-12) {
    return '=';
  }
  return c.change > 0 ? '▲' : '▼';
}

/** ``+0.031 (+4.21%)``: the absolute and relative change. */
export function changeText(c: IChange): string {
  if (c.change === null) {
    return '–';
  }
  const sign = (v: number) => (v > 0 ? '+' : v < 0 ? '−' : '±');
  const abs = `${sign(c.change)}${shortNumber(Math.abs(c.change), 3)}`;
  if (c.relative_change === null) {
    return abs;
  }
  return `${abs} (${sign(c.relative_change)}${shortNumber(Math.abs(c.relative_change) * 100, 3)}%)`;
}

/** ``p = 0.031``, ``p < 0.001`` or ``no test`` (no interval on one side). */
export function pText(p: number | null): string {
  if (p === null) {
    return 'no test';
  }
  return p < 0.001 ? 'p < 0.001' : `p = ${shortNumber(p, 2)}`;
}

/** What the user can compare a record with: earlier enforce records of the same
 * policy in the same store, newest first (``records`` come newest first). */
export function compareCandidates<
  T extends { id: string; kind: string; store: string; created: string; summary: any }
>(records: T[], rec: T): T[] {
  const policy = rec.summary?.policy_title;
  return records.filter(
    r =>
      r.id !== rec.id &&
      r.kind === 'enforce' &&
      r.store === rec.store &&
      (policy === undefined || r.summary?.policy_title === policy)
  );
}
