/**
 * The sidebar's controller: owns the state, the refresh ``Poll``, the sync and verify
 * calls and the record details, as jupyter-resource-usage's model owns its poll. The
 * views (components/) only read ``state`` and call these methods; jest drives this
 * class with a fake ``request`` function, no server and no DOM.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IApiError,
  IEvidenceRecord,
  IFilter,
  ISyncJob,
  IState,
  ITracker,
  Target,
  clearSelection,
  dismissSync,
  emptyFilter,
  filterRecords,
  initialState,
  normalizePage,
  normalizeRecord,
  normalizeTrackers,
  recordHeading,
  requestSettings,
  syncFailed,
  syncIds,
  syncStarted,
  toggleOpen,
  toggleSelected,
  trackerLabel,
  withError,
  withJob,
  withPage
} from './model';
import { IComparison, IHistory, normalizeComparison, normalizeHistory } from './overtime';

/** The settings editor's values (its ``composite``); each sync sends the ones the
 * server's trackers take (model.requestSettings), never stored elsewhere. */
export interface IEditorSettings {
  [field: string]: unknown;
}

/** How the controller reaches the server: ``requestAPI`` in the lab, a fake in jest. */
export type Request = (
  endPoint: string,
  init?: RequestInit,
  query?: { [key: string]: string | undefined }
) => Promise<unknown>;

/** What the controller tells the user outside the panel (JupyterLab's toasts). */
export interface INotifier {
  success(message: string): void;
  error(message: string): void;
  info(message: string): void;
}

/** A record's runs over time or its comparison: loading, there, or why not. */
export interface ILoad<T> {
  state: 'loading' | 'done' | 'error';
  value: T | null;
  error: IApiError | null;
}

/** A comparison asked for: with what (``previous``, a tag or a record id) and the answer. */
export interface ICompareLoad extends ILoad<IComparison> {
  baseline: string;
}

/** The audit export formats the server writes (docs/audit.md). */
export const EXPORT_FORMATS: { format: string; label: string }[] = [
  { format: 'bundle', label: 'Audit bundle (zip)' },
  { format: 'annex-iv', label: 'Annex IV (Markdown)' },
  { format: 'oscal', label: 'OSCAL results (JSON)' },
  { format: 'model-card', label: 'Model card (Markdown)' }
];

/** What ``POST export`` answered, or why it failed. */
export interface IExportState {
  state: 'running' | 'done' | 'error';
  format: string;
  out: string;
  files: string[];
  records: number | null;
  error: IApiError | null;
}

/** The result of "verify": every store's chain checked. */
export interface IVerifyState {
  state: 'running' | 'done' | 'error';
  ok: boolean | null;
  message: string;
}

const QUIET: INotifier = {
  success: () => undefined,
  error: () => undefined,
  info: () => undefined
};

/** Records asked for per page; the server allows up to 500. */
export const PAGE = 200;
/** Most records held in the browser (pages beyond this are not fetched). */
export const MAX_RECORDS = 10000;

export function apiErrorOf(error: unknown): IApiError {
  const body = (error as any)?.body;
  if (body && typeof body === 'object' && typeof body.message === 'string') {
    return body as IApiError;
  }
  return { message: String((error as any)?.message ?? error), code: 'CLIENT_ERROR' };
}

export class EvidenceController {
  /**
   * ``isLocal(rec)`` says whether a record comes from the notebook in front (its
   * report is on screen already); a failing policy check from anywhere else (another
   * tab, nbclient, the CLI) raises a toast when it appears.
   */
  constructor(
    private readonly request: Request,
    options: {
      notifier?: INotifier;
      interval?: number;
      isLocal?: (rec: IEvidenceRecord) => boolean;
    } = {}
  ) {
    this._notify = options.notifier ?? QUIET;
    this._isLocal = options.isLocal ?? (() => false);
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: options.interval ?? 5000, backoff: true, max: 60000 },
      name: 'vl-jupyter:evidence',
      standby: 'when-hidden'
    });
  }

  get state(): IState {
    return this._state;
  }

  get filter(): IFilter {
    return this._filter;
  }

  /** The records the list shows: the loaded ones through the filter. */
  get visible(): IEvidenceRecord[] {
    if (this._visibleOf !== this._state.records || this._visibleFilter !== this._filter) {
      this._visible = filterRecords(this._state.records, this._filter);
      this._visibleOf = this._state.records;
      this._visibleFilter = this._filter;
    }
    return this._visible;
  }

  get verify(): IVerifyState | null {
    return this._verify;
  }

  /** Emitted whenever anything shown changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The trackers the server registered (``GET trackers``), in its order; null until
   * they are loaded. */
  get trackers(): readonly ITracker[] | null {
    return this._trackers;
  }

  /** Why the tracker list could not be loaded (retried with every refresh). */
  get trackersError(): IApiError | null {
    return this._trackersError;
  }

  /** Emitted once, when the tracker list arrives (the plugin adds a command per tracker). */
  get trackersLoaded(): ISignal<this, readonly ITracker[]> {
    return this._trackersLoaded;
  }

  /** Ask the server which trackers it has, unless it already said. */
  async loadTrackers(): Promise<void> {
    if (this._trackers) {
      return;
    }
    try {
      const trackers = normalizeTrackers(await this.request('trackers'));
      this._trackers = trackers;
      this._trackersError = null;
      this._trackersLoaded.emit(trackers);
    } catch (error) {
      const err = apiErrorOf(error);
      if (this._trackersError?.message === err.message) {
        return; // the same failure as the last poll: nothing new to show
      }
      this._trackersError = err;
    }
    this._changed.emit();
  }

  set editorSettings(value: IEditorSettings) {
    this._settings = value;
  }

  set pollInterval(seconds: number) {
    const interval = Math.max(1, seconds) * 1000;
    this._poll.frequency = { interval, backoff: true, max: 12 * interval };
  }

  start(): void {
    void this._poll.start();
  }

  /** Refresh now (a cell finished in this tab, a command). */
  refreshSoon(): void {
    void this._poll.refresh();
  }

  /** Fetch the newest records, then older pages up to what was loaded before (at most
   * ``MAX_RECORDS``), so a refresh does not shrink a list the user scrolled through. */
  async refresh(): Promise<void> {
    // the tracker list is asked for beside the page (until it arrives once), and is
    // in by the time the page is shown: never a page with the buttons still missing
    const trackers = this._trackers ? null : this.loadTrackers();
    try {
      const first = normalizePage(
        await this.request('evidence', {}, { limit: String(PAGE), exclude_kind: 'sync' })
      );
      let records = first.records;
      const wanted = Math.min(this._wanted, first.total, MAX_RECORDS);
      while (records.length < wanted) {
        const next = normalizePage(
          await this.request(
            'evidence',
            {},
            { limit: String(PAGE), offset: String(records.length), exclude_kind: 'sync' }
          )
        );
        if (!next.records.length) {
          break;
        }
        records = records.concat(next.records);
      }
      await trackers;
      const before = this._state.version;
      this._set(withPage(this._state, { ...first, records }));
      if (before !== null && this._state.version !== before && this._history.size) {
        // new evidence may be a new run of an open record's policy: its trend is stale
        this._history.clear();
        const open = this._state.records.find(r => r.id === this._state.open);
        if (open) {
          void this.loadHistory(open);
        }
      }
      this._announce(records);
      if (this._pendingReveal) {
        this.reveal(this._pendingReveal);
      }
    } catch (error) {
      this._set(withError(this._state, apiErrorOf(error)));
      throw error; // lets the poll back off while the server is away
    }
  }

  /** Load the next page of older records (the list's end came into view). */
  async loadMore(): Promise<void> {
    const { records, total } = this._state;
    if (this._loadingMore || records.length >= Math.min(total, MAX_RECORDS)) {
      return;
    }
    this._loadingMore = true;
    this._wanted = records.length + PAGE;
    try {
      await this.refresh();
    } catch {
      // shown as the panel's error; the poll retries
    } finally {
      this._loadingMore = false;
    }
  }

  setFilter(update: Partial<IFilter>): void {
    this._filter = { ...this._filter, ...update };
    this._changed.emit();
  }

  clearFilter(): void {
    this._filter = emptyFilter();
    this._changed.emit();
  }

  toggleSelected(id: string): void {
    this._set(toggleSelected(this._state, id));
  }

  clearSelection(): void {
    this._set(clearSelection(this._state));
  }

  dismissSync(): void {
    this._set(dismissSync(this._state));
  }

  dismissVerify(): void {
    this._verify = null;
    this._changed.emit();
  }

  /** Open or close a record's detail (and fetch the detail once). */
  toggleOpen(rec: IEvidenceRecord): void {
    const opening = this._state.open !== rec.id;
    this._set(toggleOpen(this._state, rec.id));
    if (opening) {
      void this.loadDetail(rec);
      void this.loadHistory(rec);
    }
  }

  /** Open ``id``'s detail and scroll to it, clearing filters that hide it (a click on
   * a cell's report). A record not listed yet is revealed after the next refresh. */
  reveal(id: string): boolean {
    const rec = this._state.records.find(r => r.id === id);
    if (!rec) {
      this._pendingReveal = id;
      return false;
    }
    this._pendingReveal = null;
    if (!this.visible.includes(rec)) {
      this._filter = emptyFilter();
    }
    this._scrollTarget = id;
    if (this._state.open !== id) {
      this.toggleOpen(rec);
    } else {
      this._changed.emit();
    }
    return true;
  }

  /** The record the list should scroll to, once (then it is forgotten). */
  takeScrollTarget(): string | null {
    const id = this._scrollTarget;
    this._scrollTarget = null;
    return id;
  }

  details(id: string): IEvidenceRecord | undefined {
    return this._details.get(id);
  }

  async loadDetail(rec: IEvidenceRecord): Promise<void> {
    if (this._details.has(rec.id)) {
      return;
    }
    try {
      const full = normalizeRecord(
        await this.request(`evidence/${encodeURIComponent(rec.id)}`, {}, { store: rec.store })
      );
      this._details.set(rec.id, full ?? { ...rec, data: { error: { message: 'empty answer' } } });
    } catch (error) {
      this._details.set(rec.id, { ...rec, data: { error: apiErrorOf(error) } });
    }
    this._changed.emit();
  }

  /** The record's controls over its policy's recent runs (once per record). */
  history(id: string): ILoad<IHistory> | undefined {
    return this._history.get(id);
  }

  async loadHistory(rec: IEvidenceRecord): Promise<void> {
    if (this._history.has(rec.id) || rec.kind !== 'enforce') {
      return;
    }
    this._history.set(rec.id, { state: 'loading', value: null, error: null });
    this._changed.emit();
    try {
      const raw = await this.request(
        `evidence/${encodeURIComponent(rec.id)}/history`,
        {},
        { store: rec.store }
      );
      this._history.set(rec.id, { state: 'done', value: normalizeHistory(raw), error: null });
    } catch (error) {
      this._history.set(rec.id, { state: 'error', value: null, error: apiErrorOf(error) });
    }
    this._changed.emit();
  }

  /** The comparison shown in ``id``'s detail, if one was asked for. */
  comparison(id: string): ICompareLoad | undefined {
    return this._compare.get(id);
  }

  /** Compare ``rec`` with ``baseline`` (``previous``, a tag, or another record's id);
   * a newer request for the same record wins over an older answer still on its way. */
  async compare(rec: IEvidenceRecord, baseline: string): Promise<void> {
    const wanted = baseline.trim();
    if (!wanted) {
      this._compare.set(rec.id, {
        baseline: '',
        state: 'error',
        value: null,
        error: { code: 'NO_BASELINE', message: 'say what to compare with: a tag or a record' }
      });
      this._changed.emit();
      return;
    }
    const load: ICompareLoad = { baseline: wanted, state: 'loading', value: null, error: null };
    this._compare.set(rec.id, load);
    this._changed.emit();
    let next: ICompareLoad;
    try {
      const raw = await this.request(
        `evidence/${encodeURIComponent(rec.id)}/compare`,
        {},
        { baseline: wanted, store: rec.store }
      );
      next = { baseline: wanted, state: 'done', value: normalizeComparison(raw), error: null };
    } catch (error) {
      next = { baseline: wanted, state: 'error', value: null, error: apiErrorOf(error) };
    }
    if (this._compare.get(rec.id) === load) {
      this._compare.set(rec.id, next);
      this._changed.emit();
    }
  }

  closeCompare(id: string): void {
    if (this._compare.delete(id)) {
      this._changed.emit();
    }
  }

  /** Whether the panel shows the export form (its button, or the command). */
  get exportOpen(): boolean {
    return this._exportOpen;
  }

  set exportOpen(value: boolean) {
    if (value !== this._exportOpen) {
      this._exportOpen = value;
      this._changed.emit();
    }
  }

  get exportState(): IExportState | null {
    return this._export;
  }

  /** Write an audit export on the server (``format`` of EXPORT_FORMATS; ``out`` relative
   * to the server root, the server's default when empty); the outcome is a toast too. */
  async exportAudit(options: { format: string; out?: string; store?: string }): Promise<void> {
    if (this._export?.state === 'running') {
      return;
    }
    const { format } = options;
    this._export = { state: 'running', format, out: '', files: [], records: null, error: null };
    this._changed.emit();
    const body: { [key: string]: string } = { format };
    if (options.out && options.out.trim()) {
      body.out = options.out.trim();
    }
    if (options.store) {
      body.store = options.store;
    }
    try {
      const r = (await this.request('export', {
        method: 'POST',
        body: JSON.stringify(body)
      })) as any;
      const files: string[] = Array.isArray(r?.files) ? r.files.map(String) : [];
      const records = typeof r?.records === 'number' ? r.records : null;
      const out = typeof r?.out === 'string' ? r.out : '';
      this._export = { state: 'done', format, out, files, records, error: null };
      this._notify.success(
        `Exported ${records ?? '?'} record${records === 1 ? '' : 's'} as ${format}: ` +
          `${files.length} file${files.length === 1 ? '' : 's'} in ${out || 'the export folder'}`
      );
    } catch (error) {
      const err = apiErrorOf(error);
      this._export = { state: 'error', format, out: '', files: [], records: null, error: err };
      this._notify.error(`Export failed: ${err.message}` + (err.hint ? ` (${err.hint})` : ''));
    }
    this._changed.emit();
  }

  dismissExport(): void {
    this._export = null;
    this._changed.emit();
  }

  /** Ship the selected records (or every pending one) to ``target``; progress goes
   * into the state, the outcome into a toast as well. */
  async sync(target: Target): Promise<void> {
    if (this._state.sync?.state === 'running') {
      return;
    }
    const ids = syncIds(this._state);
    this._set(syncStarted(this._state, target));
    const name = trackerLabel(this._trackers, target);
    try {
      let job = (await this.request('sync', {
        method: 'POST',
        body: JSON.stringify({
          target,
          ids,
          settings: requestSettings(this._settings, this._trackers ?? [])
        })
      })) as ISyncJob;
      this._set(withJob(this._state, job));
      while (job.state === 'queued' || job.state === 'running') {
        await new Promise(resolve => setTimeout(resolve, 400));
        job = (await this.request(`sync/${job.job}`)) as ISyncJob;
        this._set(withJob(this._state, job));
      }
      const s = this._state.sync;
      if (job.state === 'done' && s) {
        this._notify.success(
          `Synced ${s.synced} record${s.synced === 1 ? '' : 's'} to ${name}` +
            (s.skipped ? ` (${s.skipped} already there)` : '')
        );
      } else if (job.error) {
        this._notify.error(`Sync to ${name} failed: ${job.error.message}`);
      }
    } catch (error) {
      const err = apiErrorOf(error);
      this._set(syncFailed(this._state, target, err));
      this._notify.error(`Sync to ${name} failed: ${err.message}`);
    }
    void this._poll.refresh();
  }

  /** Re-hash every store's chain on the server (slow on big stores: it says so). */
  async verifyAll(): Promise<void> {
    if (this._verify?.state === 'running') {
      return;
    }
    this._verify = { state: 'running', ok: null, message: 'verifying every evidence store…' };
    this._changed.emit();
    try {
      const result = (await this.request('verify')) as any;
      const stores: any[] = Array.isArray(result?.stores) ? result.stores : [];
      const bad = stores.filter(s => !s?.ok);
      const message = bad.length
        ? `${bad.length} of ${stores.length} evidence store${stores.length === 1 ? '' : 's'} ` +
          `damaged: ${bad.map(s => String(s.store)).join(', ')}`
        : `${stores.length} evidence store${stores.length === 1 ? '' : 's'} verified: ` +
          'every record matches its hash chain';
      this._verify = { state: 'done', ok: bad.length === 0, message };
      (bad.length ? this._notify.error : this._notify.success)(message);
    } catch (error) {
      const err = apiErrorOf(error);
      this._verify = { state: 'error', ok: null, message: `verify failed: ${err.message}` };
      this._notify.error(this._verify.message);
    }
    this._changed.emit();
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** A toast for each failing policy check that appeared since the last refresh and
   * is not from the notebook in front (the first load only takes note). */
  private _announce(records: IEvidenceRecord[]): void {
    const seen = this._seen;
    this._seen = new Set(records.map(r => r.id));
    if (!seen) {
      return;
    }
    for (const rec of records) {
      if (seen.has(rec.id) || rec.kind !== 'enforce' || this._isLocal(rec)) {
        continue;
      }
      if (rec.status === 'fail' || rec.status === 'error') {
        const h = recordHeading(rec);
        this._notify.error(
          `Policy check ${rec.status === 'fail' ? 'failed' : 'could not be evaluated'}: ` +
            `${h.title} in ${[h.source, h.cell].filter(Boolean).join(' ')}`
        );
      }
    }
  }

  private _set(next: IState): void {
    if (next !== this._state) {
      this._state = next;
      this._changed.emit();
    }
  }

  private _state: IState = initialState();
  private _filter: IFilter = emptyFilter();
  private _visible: IEvidenceRecord[] = [];
  private _visibleOf: IEvidenceRecord[] | null = null;
  private _visibleFilter: IFilter | null = null;
  private _verify: IVerifyState | null = null;
  private _settings: IEditorSettings = {};
  private _details = new Map<string, IEvidenceRecord>();
  private _history = new Map<string, ILoad<IHistory>>();
  private _compare = new Map<string, ICompareLoad>();
  private _export: IExportState | null = null;
  private _exportOpen = false;
  private _changed = new Signal<this, void>(this);
  private _trackers: readonly ITracker[] | null = null;
  private _trackersError: IApiError | null = null;
  private _trackersLoaded = new Signal<this, readonly ITracker[]>(this);
  private _notify: INotifier;
  private _poll: Poll;
  private _wanted = PAGE;
  private _seen: Set<string> | null = null;
  private _isLocal: (rec: IEvidenceRecord) => boolean;
  private _pendingReveal: string | null = null;
  private _scrollTarget: string | null = null;
  private _loadingMore = false;
}
