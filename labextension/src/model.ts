/**
 * The sidebar's state, free of JupyterLab and the DOM so that jest can drive it:
 * what the server listed, how it is grouped, what is selected, what a sync is doing.
 *
 * Every update returns a new state object; a refresh that brings nothing new returns
 * the same object, so React renders nothing (no flicker), and the selection survives
 * every refresh as long as the selected records still exist.
 */

export type Status = 'pass' | 'warn' | 'fail' | 'error' | 'skipped' | 'info';
export type Target = 'mlflow' | 'wandb';

export interface ISyncLink {
  run_id?: string | null;
  url?: string | null;
  location?: string | null;
  synced_at?: string | null;
}

export interface IEvidenceRecord {
  id: string;
  kind: string;
  created: string;
  session: string;
  seq: number;
  hash: string;
  summary: { [key: string]: any };
  file: string;
  path: string;
  store: string;
  notebook: string;
  status: Status;
  synced: { [target: string]: ISyncLink };
  syncable: boolean;
  telemetry?: {
    wall_s?: number | null;
    peak_rss_bytes?: number | null;
    energy_kwh?: number | null;
    co2e_g?: number | null;
  };
  data?: { [key: string]: any };
}

export interface IEvidencePage {
  records: IEvidenceRecord[];
  total: number;
  offset: number;
  limit: number;
  stores: { store: string; notebook: string; records: number }[];
  version: string;
}

export interface IRun {
  target: string;
  run_id: string;
  url?: string | null;
  location?: string | null;
}

export interface IApiError {
  code?: string;
  message: string;
  hint?: string | null;
  target?: string;
  pending?: string[];
}

export interface ISyncJob {
  job: string;
  target: string;
  state: 'queued' | 'running' | 'done' | 'error';
  progress: { done?: number; total?: number | null; message?: string };
  result: {
    synced: { record_id: string; target: string; url?: string | null }[];
    skipped: string[];
    runs: IRun[];
    messages?: string[];
  } | null;
  error: IApiError | null;
}

export interface ISessionGroup {
  session: string;
  records: IEvidenceRecord[];
}

export interface INotebookGroup {
  notebook: string;
  sessions: ISessionGroup[];
}

export interface ISyncState {
  target: Target;
  state: 'running' | 'done' | 'error';
  done: number;
  total: number | null;
  message: string;
  runs: IRun[];
  synced: number;
  skipped: number;
  error: IApiError | null;
  notes: string[];
}

export interface IState {
  records: IEvidenceRecord[];
  total: number;
  version: string | null;
  selected: ReadonlySet<string>;
  open: string | null;
  loading: boolean;
  error: IApiError | null;
  sync: ISyncState | null;
}

export function initialState(): IState {
  return {
    records: [],
    total: 0,
    version: null,
    selected: new Set<string>(),
    open: null,
    loading: true,
    error: null,
    sync: null
  };
}

/** Take a fresh page; keep the selection of records that are still listed. */
export function withPage(state: IState, page: IEvidencePage): IState {
  if (
    page.version === state.version &&
    page.records.length === state.records.length &&
    !state.loading &&
    !state.error
  ) {
    return state;
  }
  const ids = new Set(page.records.map(r => r.id));
  const selected = new Set([...state.selected].filter(id => ids.has(id)));
  const keep = selected.size === state.selected.size;
  return {
    ...state,
    records: page.records,
    total: page.total,
    version: page.version,
    selected: keep ? state.selected : selected,
    open: state.open !== null && ids.has(state.open) ? state.open : null,
    loading: false,
    error: null
  };
}

/** A failed refresh keeps what is shown and says why. */
export function withError(state: IState, error: IApiError): IState {
  if (state.error && state.error.message === error.message && !state.loading) {
    return state;
  }
  return { ...state, loading: false, error };
}

export function toggleSelected(state: IState, id: string): IState {
  const selected = new Set(state.selected);
  if (selected.has(id)) {
    selected.delete(id);
  } else {
    selected.add(id);
  }
  return { ...state, selected };
}

export function clearSelection(state: IState): IState {
  return state.selected.size ? { ...state, selected: new Set<string>() } : state;
}

export function toggleOpen(state: IState, id: string): IState {
  return { ...state, open: state.open === id ? null : id };
}

/** Records not yet synced to ``target`` (a ``sync`` record is never shipped itself). */
export function pending(records: IEvidenceRecord[], target: Target): IEvidenceRecord[] {
  return records.filter(r => r.syncable && !r.synced[target]);
}

/**
 * What a "Sync to" click sends: the selected records, or ``null`` meaning every
 * pending record on the server (not only the ones loaded in the sidebar).
 */
export function syncIds(state: IState): string[] | null {
  if (!state.selected.size) {
    return null;
  }
  return state.records.filter(r => state.selected.has(r.id)).map(r => r.id);
}

/** Group newest first by notebook folder, then by evidence session. */
export function groupRecords(records: IEvidenceRecord[]): INotebookGroup[] {
  const notebooks = new Map<string, Map<string, IEvidenceRecord[]>>();
  for (const rec of records) {
    let sessions = notebooks.get(rec.notebook);
    if (!sessions) {
      sessions = new Map();
      notebooks.set(rec.notebook, sessions);
    }
    const list = sessions.get(rec.session);
    if (list) {
      list.push(rec);
    } else {
      sessions.set(rec.session, [rec]);
    }
  }
  // Map keeps insertion order; records arrive newest first, so groups do too.
  return [...notebooks.entries()].map(([notebook, sessions]) => ({
    notebook,
    sessions: [...sessions.entries()].map(([session, recs]) => ({
      session,
      records: recs
    }))
  }));
}

/** Counts of each traffic light, for a group's header. */
export function statusCounts(records: IEvidenceRecord[]): Record<Status, number> {
  const counts: Record<Status, number> = {
    pass: 0,
    warn: 0,
    fail: 0,
    error: 0,
    skipped: 0,
    info: 0
  };
  for (const rec of records) {
    counts[rec.status] = (counts[rec.status] || 0) + 1;
  }
  return counts;
}

export function syncStarted(state: IState, target: Target): IState {
  return {
    ...state,
    sync: {
      target,
      state: 'running',
      done: 0,
      total: null,
      message: 'starting',
      runs: [],
      synced: 0,
      skipped: 0,
      error: null,
      notes: []
    }
  };
}

/** Fold a polled job into the state; a finished job clears the selection it shipped. */
export function withJob(state: IState, job: ISyncJob): IState {
  if (!state.sync) {
    return state;
  }
  const result = job.result;
  const sync: ISyncState = {
    ...state.sync,
    state: job.state === 'queued' ? 'running' : job.state,
    done: job.progress.done ?? state.sync.done,
    total: job.progress.total ?? state.sync.total,
    message: job.progress.message ?? state.sync.message,
    runs: result ? result.runs : [],
    synced: result ? result.synced.length : 0,
    skipped: result ? result.skipped.length : 0,
    error: job.error,
    notes: result?.messages ?? []
  };
  const next = { ...state, sync };
  return job.state === 'done' ? clearSelection(next) : next;
}

export function syncFailed(state: IState, target: Target, error: IApiError): IState {
  const base = state.sync ?? syncStarted(state, target).sync!;
  return { ...state, sync: { ...base, target, state: 'error', error } };
}

export function dismissSync(state: IState): IState {
  return state.sync && state.sync.state !== 'running' ? { ...state, sync: null } : state;
}

// -- formatting

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) {
    return '–';
  }
  if (s < 1) {
    return `${Math.round(s * 1000)} ms`;
  }
  if (s < 60) {
    return `${s.toFixed(1)} s`;
  }
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function formatBytes(b: number | null | undefined): string {
  if (b === null || b === undefined) {
    return '–';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Math.abs(b);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const sign = b < 0 ? '-' : '';
  return `${sign}${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

export function formatEnergy(kwh: number | null | undefined): string {
  if (kwh === null || kwh === undefined) {
    return '–';
  }
  const wh = kwh * 1000;
  if (wh < 1) {
    return `${(wh * 1000).toPrecision(3)} mWh`;
  }
  return wh < 1000 ? `${wh.toPrecision(3)} Wh` : `${kwh.toPrecision(3)} kWh`;
}

export function formatCo2(g: number | null | undefined): string {
  if (g === null || g === undefined) {
    return '–';
  }
  return g < 1 ? `${(g * 1000).toPrecision(3)} mg CO2e` : `${g.toPrecision(3)} g CO2e`;
}

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) {
    return '–';
  }
  if (typeof v === 'number') {
    return Number.isInteger(v) ? String(v) : v.toPrecision(3);
  }
  return String(v);
}

const OPERATORS: { [op: string]: string } = {
  gt: '>',
  ge: '≥',
  gte: '≥',
  lt: '<',
  le: '≤',
  lte: '≤',
  eq: '=',
  ne: '≠'
};

export function operatorSymbol(op: string | null | undefined): string {
  return op ? OPERATORS[op] ?? op : '';
}

/** "2 passed · 1 failed" for an enforce record, from its summary's counts. */
export function controlsLine(summary: { [key: string]: any }): string {
  const counts = summary.counts || {};
  const parts: string[] = [];
  const words: [string, string][] = [
    ['pass', 'passed'],
    ['warn', 'warned'],
    ['fail', 'failed'],
    ['error', 'errors'],
    ['skipped', 'skipped']
  ];
  for (const [key, word] of words) {
    if (counts[key]) {
      parts.push(`${counts[key]} ${word}`);
    }
  }
  return parts.join(' · ') || `${summary.controls ?? 0} controls`;
}

export function errorText(error: IApiError): string {
  return error.hint ? `${error.message} (${error.hint})` : error.message;
}

export const TARGET_LABELS: Record<Target, string> = {
  mlflow: 'MLflow',
  wandb: 'W&B'
};
