/**
 * The sidebar's state, free of JupyterLab and the DOM so that jest can drive it:
 * what the server listed, how it is grouped, what is selected, what a sync is doing.
 *
 * Every update returns a new state object; a refresh that brings nothing new returns
 * the same object, so React renders nothing (no flicker), and the selection survives
 * every refresh as long as the selected records still exist.
 */

export type Status = 'pass' | 'warn' | 'fail' | 'error' | 'skipped' | 'info';
/** A tracker's registered name (``mlflow``, ``wandb``, or any the server registered). */
export type Target = string;

/** A tracker as ``GET trackers`` lists it: the sidebar's buttons, commands and settings
 * come from this list, never from names written here. */
export interface ITracker {
  name: string;
  label: string;
  /** The server's environment, ``.env`` or ``vl_jupyter.yaml`` sets it up. */
  configured: boolean;
  /** The setting keys a browser may send (``mlflow_tracking_uri``), with a title. */
  settings: { key: string; title: string }[];
}

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
  /** The evidence chain's verdict on this record, when the server says it. */
  integrity?: 'verified' | 'unverified' | 'damaged';
  /** Why, when it is not verified. */
  integrity_reason?: string;
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

/** As the inline report: ``42.1 ms``, ``12.34 s``, ``2 min 5 s``. */
export function formatSeconds(s: number | null | undefined): string {
  if (!isNum(s)) {
    return '–';
  }
  if (s < 1) {
    return `${shortNumber(s * 1000, 3)} ms`;
  }
  if (s < 120) {
    return `${s.toFixed(2)} s`;
  }
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function formatBytes(b: number | null | undefined): string {
  if (!isNum(b)) {
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

/** As the inline report: kWh from 1 kWh, else Wh, mWh, µWh, nWh. */
export function formatEnergy(kwh: number | null | undefined): string {
  if (!isNum(kwh)) {
    return '–';
  }
  if (kwh >= 1) {
    return `${shortNumber(kwh, 3)} kWh`;
  }
  let value = kwh * 1000;
  for (const unit of ['Wh', 'mWh', 'µWh', 'nWh']) {
    if (value >= 1 || unit === 'nWh') {
      return `${shortNumber(value, 3)} ${unit}`;
    }
    value *= 1000;
  }
  return `${kwh} kWh`;
}

/** The same scaling as the inline report (g, mg, µg, ng): one figure reads the same
 * in the cell and in the sidebar. */
export function formatCo2(g: number | null | undefined): string {
  if (!isNum(g)) {
    return '–';
  }
  const units = ['g', 'mg', 'µg', 'ng'];
  let value = g;
  for (const unit of units) {
    if (value >= 1 || unit === 'ng') {
      return `${shortNumber(value, 3)} ${unit} CO2e`;
    }
    value *= 1000;
  }
  return `${g} g CO2e`;
}

/** Python's ``f"{v:.{digits}g}"`` without trailing zeros: ``0.4``, ``0.7927``. */
export function shortNumber(v: number, digits: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e9) {
    return String(v);
  }
  return String(Number(v.toPrecision(digits)));
}

/** A value or threshold, with four significant digits, as the inline report writes
 * them (``> 0.4`` in both, never ``> 0.400`` in one of them). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined || (typeof v === 'number' && isNaN(v))) {
    return '–';
  }
  if (typeof v === 'number') {
    return shortNumber(v, 4);
  }
  return String(v);
}

/** ``> 0.8``: operator and threshold, as in the report. */
export function formatThreshold(op: unknown, threshold: unknown): string {
  const symbol = operatorSymbol(typeof op === 'string' ? op : null);
  return `${symbol} ${formatValue(threshold)}`.trim();
}

/** ``v1.0`` for a version number, the word itself otherwise (``unversioned``). */
export function versionLabel(version: unknown): string {
  const text = version === null || version === undefined ? '' : String(version).trim();
  if (!text) {
    return '';
  }
  return /^[0-9]/.test(text) ? `v${text}` : text;
}

/** ``2026-12-01 09:31`` in the browser's time zone; the raw ISO time stays as the
 * tooltip. An unparseable time is shown as given. */
export function formatDateTime(iso: unknown): string {
  if (typeof iso !== 'string') {
    return '';
  }
  const d = new Date(iso);
  if (isNaN(d.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/** The last part of a path: ``notebooks/01_quickstart.ipynb`` -> ``01_quickstart.ipynb``. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && isFinite(v);
}

/** The symbols of vl_jupyter.policy.operator_symbol: the inline report, the CLI and the
 * sidebar write a threshold the same way (``>= 0.99`` everywhere). */
const OPERATORS: { [op: string]: string } = {
  gt: '>',
  ge: '>=',
  gte: '>=',
  lt: '<',
  le: '<=',
  lte: '<=',
  eq: '==',
  ne: '!='
};

export function operatorSymbol(op: string | null | undefined): string {
  return op ? (OPERATORS[op] ?? op) : '';
}

/** "2 passed · 1 failed" for an enforce record, from its summary's counts. */
export function controlsLine(summary: { [key: string]: any }): string {
  const counts = summary.counts && typeof summary.counts === 'object' ? summary.counts : {};
  const parts: string[] = [];
  // [key, one, many]: "1 error", "2 errors", never "1 errors"
  const words: [string, string, string][] = [
    ['pass', 'passed', 'passed'],
    ['warn', 'warned', 'warned'],
    ['fail', 'failed', 'failed'],
    ['error', 'error', 'errors'],
    ['skipped', 'skipped', 'skipped']
  ];
  for (const [key, one, many] of words) {
    const n = counts[key];
    if (isNum(n) && n > 0) {
      parts.push(`${n} ${n === 1 ? one : many}`);
    }
  }
  const controls = isNum(summary.controls) ? summary.controls : 0;
  return parts.join(' · ') || `${controls} control${controls === 1 ? '' : 's'}`;
}

/** The message and, unless the message says it already, the hint in brackets. */
export function errorText(error: IApiError): string {
  return error.hint && !error.message.includes(error.hint)
    ? `${error.message} (${error.hint})`
    : error.message;
}

/** The label a tracker registered (``W&B`` for ``wandb``); its name if it is unknown. */
export function trackerLabel(trackers: readonly ITracker[] | null, name: string): string {
  return trackers?.find(t => t.name === name)?.label ?? name;
}

/** A tracker that takes a mode setting (``wandb_mode``) can write runs offline. */
export function hasMode(tracker: ITracker | undefined): boolean {
  return !!tracker && tracker.settings.some(s => s.key === `${tracker.name}_mode`);
}

/** The settings editor's name of a setting key: ``mlflow_tracking_uri`` ->
 * ``mlflowTrackingUri`` (the schema's own fields for the shipped trackers). */
export function settingField(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * What a sync request sends as ``settings``: for each key a registered tracker takes,
 * the settings editor's own field (``mlflowTrackingUri``) if the schema has one, else
 * the key in the free-form ``trackerSettings`` object (a tracker added on the server
 * needs no schema change). Empty values and keys no tracker takes are left out (the
 * server refuses unknown keys; credentials never go this way).
 */
export function requestSettings(
  composite: { [key: string]: unknown },
  trackers: readonly ITracker[]
): { [key: string]: string } {
  const free = obj(composite.trackerSettings);
  const out: { [key: string]: string } = {};
  for (const tracker of trackers) {
    for (const { key } of tracker.settings) {
      const field = composite[settingField(key)];
      const value = typeof field === 'string' && field ? field : free[key];
      if (typeof value === 'string' && value.trim()) {
        out[key] = value.trim();
      }
    }
  }
  return out;
}

/** The trackers the server listed, each checked; one without a usable name is left
 * out, a duplicate name counts once (the first). */
export function normalizeTrackers(raw: unknown): ITracker[] {
  const list = obj(raw).trackers;
  const out: ITracker[] = [];
  for (const item of Array.isArray(list) ? list : []) {
    const t = obj(item);
    const name = str(t.name);
    if (!/^[a-z_][a-z0-9_]*$/.test(name) || out.some(o => o.name === name)) {
      continue;
    }
    const settings = (Array.isArray(t.settings) ? t.settings : [])
      .map((s: unknown) => obj(s))
      .filter((s: { [key: string]: any }) => typeof s.key === 'string' && s.key)
      .map((s: { [key: string]: any }) => ({ key: s.key as string, title: str(s.title, s.key) }));
    out.push({ name, label: str(t.label) || name, configured: t.configured === true, settings });
  }
  return out;
}

// -- the API's answer, never trusted

const STATUSES: Status[] = ['pass', 'warn', 'fail', 'error', 'skipped', 'info'];

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function obj(v: unknown): { [key: string]: any } {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as any) : {};
}

/**
 * One listed record with every field of the expected type, or ``null`` when it has
 * no usable id. A field of the wrong type (a proxy, an older or newer server) becomes
 * its empty value instead of breaking the render.
 */
export function normalizeRecord(raw: unknown): IEvidenceRecord | null {
  const r = obj(raw);
  const id = str(r.id);
  if (!id) {
    return null;
  }
  const status = STATUSES.includes(r.status) ? (r.status as Status) : 'info';
  const synced: { [target: string]: ISyncLink } = {};
  for (const [target, link] of Object.entries(obj(r.synced))) {
    const l = obj(link);
    synced[target] = {
      run_id: typeof l.run_id === 'string' ? l.run_id : null,
      url: typeof l.url === 'string' ? l.url : null,
      location: typeof l.location === 'string' ? l.location : null,
      synced_at: typeof l.synced_at === 'string' ? l.synced_at : null
    };
  }
  const out: IEvidenceRecord = {
    id,
    kind: str(r.kind, 'record'),
    created: str(r.created),
    session: str(r.session),
    seq: isNum(r.seq) ? r.seq : 0,
    hash: str(r.hash),
    summary: obj(r.summary),
    file: str(r.file),
    path: str(r.path),
    store: str(r.store),
    notebook: str(r.notebook, '.'),
    status,
    synced,
    syncable: r.syncable === true,
    integrity: ['verified', 'unverified', 'damaged'].includes(r.integrity)
      ? r.integrity
      : undefined,
    integrity_reason: typeof r.integrity_reason === 'string' ? r.integrity_reason : undefined
  };
  if (r.telemetry !== undefined) {
    const t = obj(r.telemetry);
    const num = (v: unknown) => (isNum(v) ? v : null);
    out.telemetry = {
      wall_s: num(t.wall_s),
      peak_rss_bytes: num(t.peak_rss_bytes),
      energy_kwh: num(t.energy_kwh),
      co2e_g: num(t.co2e_g)
    };
  }
  if (r.data !== undefined) {
    out.data = obj(r.data);
  }
  return out;
}

/** A page from the API, its records normalised; a malformed page is an empty one. */
export function normalizePage(raw: unknown): IEvidencePage {
  const p = obj(raw);
  const records = (Array.isArray(p.records) ? p.records : [])
    .map(normalizeRecord)
    .filter((r: IEvidenceRecord | null): r is IEvidenceRecord => r !== null);
  return {
    records,
    total: isNum(p.total) ? p.total : records.length,
    offset: isNum(p.offset) ? p.offset : 0,
    limit: isNum(p.limit) ? p.limit : records.length,
    stores: Array.isArray(p.stores) ? p.stores : [],
    version: str(p.version)
  };
}

// -- telling records apart

export interface IHeading {
  /** ``01_quickstart.ipynb`` or the script's name; the folder when nothing else. */
  source: string;
  /** ``[7]``: the cell's execution count, when known. */
  cell: string;
  /** ``German credit data audit v1.0`` for an enforce record, the block's name for
   * telemetry, the control for a review. */
  title: string;
  /** ``2026-12-01 09:31``. */
  when: string;
}

/** What a record's row shows instead of its raw 32-character id. */
export function recordHeading(rec: IEvidenceRecord): IHeading {
  const s = rec.summary;
  // a notebook's path, else the script's (vl_jupyter._context.origin)
  const notebook = str(s.notebook) || str(s.script);
  const source = notebook
    ? baseName(notebook)
    : rec.notebook && rec.notebook !== '.'
      ? `${rec.notebook}/`
      : 'project root';
  const cell = isNum(s.execution_count) ? `[${s.execution_count}]` : '';
  let title = str(s.name);
  if (rec.kind === 'enforce') {
    const policy = [str(s.policy_title), versionLabel(s.policy_version)].filter(Boolean).join(' ');
    title = [policy, str(s.name)].filter(Boolean).join(' · ') || 'policy check';
  } else if (rec.kind === 'review') {
    title =
      s.scope === 'report'
        ? 'sign-off of the report'
        : `review of ${str(s.control_id, 'a control')}`;
  }
  return { source, cell, title: title || rec.kind, when: formatDateTime(rec.created) };
}

/** The notebook path a record came from, relative to the server root, when known. */
export function notebookPath(rec: IEvidenceRecord): string | null {
  const notebook = str(rec.summary.notebook);
  if (!notebook || !/\.ipynb$/.test(notebook)) {
    return null;
  }
  if (/^([a-zA-Z]:)?[\\/]/.test(notebook)) {
    // Jupyter Server gives the kernel an absolute path; the store sits in the notebook's
    // working directory (its folder, by default), which the listing gives relative to
    // the server's root
    const base = baseName(notebook);
    return rec.notebook && rec.notebook !== '.' ? `${rec.notebook}/${base}` : base;
  }
  return notebook;
}

// -- filters

export interface IFilter {
  text: string;
  status: Status | '';
  kind: string;
  sync: '' | 'pending' | 'synced';
}

export function emptyFilter(): IFilter {
  return { text: '', status: '', kind: '', sync: '' };
}

export function isFiltering(f: IFilter): boolean {
  return !!(f.text.trim() || f.status || f.kind || f.sync);
}

/** The records matching every filter; ``text`` matches notebook, policy, name, control,
 * reviewer, engine, kind, status and id, case-insensitively, each word on its own. */
export function filterRecords(records: IEvidenceRecord[], f: IFilter): IEvidenceRecord[] {
  if (!isFiltering(f)) {
    return records;
  }
  const words = f.text.toLowerCase().split(/\s+/).filter(Boolean);
  return records.filter(r => {
    if (f.status && r.status !== f.status) {
      return false;
    }
    if (f.kind && r.kind !== f.kind) {
      return false;
    }
    if (f.sync) {
      const synced = Object.keys(r.synced).length > 0;
      if (!r.syncable || synced !== (f.sync === 'synced')) {
        return false;
      }
    }
    if (words.length) {
      const s = r.summary;
      const hay = [
        r.id,
        r.kind,
        r.status,
        r.notebook,
        s.notebook,
        s.script,
        s.name,
        s.policy_title,
        s.policy_version,
        s.control_id,
        s.reviewer,
        s.decision,
        s.engine
      ]
        .filter(v => typeof v === 'string' || typeof v === 'number')
        .join(' ')
        .toLowerCase();
      return words.every(w => hay.includes(w));
    }
    return true;
  });
}

/** The newest enforce record of ``path`` (a notebook), for the status bar. */
export function lastVerdict(
  records: IEvidenceRecord[],
  path: string | null
): IEvidenceRecord | null {
  if (!path) {
    return null;
  }
  return (
    records.find(
      r =>
        r.kind === 'enforce' &&
        typeof r.summary.notebook === 'string' &&
        (r.summary.notebook === path ||
          path.endsWith('/' + r.summary.notebook) ||
          r.summary.notebook.endsWith('/' + path))
    ) ?? null
  );
}

/** Where to open an MLflow store that has no web address (the default sqlite file):
 * the command that serves it on this machine. */
export function mlflowHint(url: string | null | undefined): string | null {
  if (!url || /^https?:\/\//.test(url)) {
    return null;
  }
  const m = /^(sqlite:\/\/\/[^#]*?)\/?(#.*)?$/.exec(url);
  if (m) {
    return `mlflow ui --backend-store-uri ${m[1]} --host 127.0.0.1 --port 5000`;
  }
  return null;
}

// -- which engine computed a record

/** How the engines of vl_jupyter/metrics/_engines.py are written for people. */
const ENGINE_LABELS: { [engine: string]: string } = {
  duckdb: 'DuckDB',
  polars: 'Polars',
  pyspark: 'Spark',
  sqlframe: 'SQLFrame',
  pyarrow: 'Arrow',
  pandas: 'pandas',
  dask: 'Dask',
  modin: 'Modin',
  cudf: 'cuDF',
  ibis: 'Ibis'
};

const SOURCE_LABELS: { [kind: string]: string } = {
  parquet: 'Parquet',
  csv: 'CSV',
  sql: 'SQL',
  frame: 'a frame'
};

export function engineLabel(engine: string): string {
  return ENGINE_LABELS[engine] ?? engine;
}

/** The row's engine tag (``DuckDB``, its tooltip ``computed in DuckDB from Parquet``),
 * or null for the pandas path, whose records name no engine. */
export function engineTag(summary: { [key: string]: any }): { text: string; title: string } | null {
  const engine = str(summary.engine);
  if (!engine || engine === 'pandas') {
    return null;
  }
  const kind = str(summary.source_kind);
  const from = kind ? ` from ${SOURCE_LABELS[kind] ?? kind}` : '';
  return { text: engineLabel(engine), title: `computed in ${engineLabel(engine)}${from}` };
}

/** The detail's "engine" line, from a record's ``data`` (its fingerprint):
 * ``DuckDB 2.0.1 · Parquet, 2 files`` with the files or SQL text as the tooltip, and
 * what the fingerprint covers. Null when the record says neither. */
export function dataEngine(frame: {
  [key: string]: any;
}): { text: string; title: string; fingerprintOf: string } | null {
  const source = obj(frame.source);
  const fingerprintOf = str(frame.fingerprint_of);
  const engine = str(source.engine);
  if (!engine) {
    // the numpy path: the values were hashed in memory
    return fingerprintOf.startsWith('values')
      ? { text: 'pandas (in memory)', title: '', fingerprintOf }
      : null;
  }
  const kind = str(source.kind);
  const files = Array.isArray(source.files) ? source.files.map((f: unknown) => obj(f)) : [];
  let where = SOURCE_LABELS[kind] ?? kind;
  let title = '';
  if (files.length) {
    where += `, ${files.length} file${files.length === 1 ? '' : 's'}`;
    title = files.map((f: { [key: string]: any }) => str(f.path)).join('\n');
  } else if (kind === 'sql') {
    title = str(source.sql);
  } else if (str(source.type)) {
    where = str(source.type);
  }
  const version = str(source.engine_version);
  return {
    text: [`${engineLabel(engine)}${version ? ` ${version}` : ''}`, where]
      .filter(Boolean)
      .join(' · '),
    title,
    fingerprintOf
  };
}
