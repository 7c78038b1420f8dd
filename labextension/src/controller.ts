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
  Target,
  TARGET_LABELS,
  clearSelection,
  dismissSync,
  emptyFilter,
  filterRecords,
  initialState,
  normalizePage,
  normalizeRecord,
  recordHeading,
  syncFailed,
  syncIds,
  syncStarted,
  toggleOpen,
  toggleSelected,
  withError,
  withJob,
  withPage
} from './model';

/** Tracker settings from the settings editor; sent with each request, never stored. */
export interface ITrackerSettings {
  mlflow_tracking_uri?: string;
  mlflow_experiment?: string;
  wandb_project?: string;
  wandb_entity?: string;
  wandb_mode?: string;
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

  set trackerSettings(value: ITrackerSettings) {
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
      this._set(withPage(this._state, { ...first, records }));
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

  /** Ship the selected records (or every pending one) to ``target``; progress goes
   * into the state, the outcome into a toast as well. */
  async sync(target: Target): Promise<void> {
    if (this._state.sync?.state === 'running') {
      return;
    }
    const ids = syncIds(this._state);
    this._set(syncStarted(this._state, target));
    const name = TARGET_LABELS[target];
    try {
      let job = (await this.request('sync', {
        method: 'POST',
        body: JSON.stringify({ target, ids, settings: this._settings })
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
  private _settings: ITrackerSettings = {};
  private _details = new Map<string, IEvidenceRecord>();
  private _changed = new Signal<this, void>(this);
  private _notify: INotifier;
  private _poll: Poll;
  private _wanted = PAGE;
  private _seen: Set<string> | null = null;
  private _isLocal: (rec: IEvidenceRecord) => boolean;
  private _pendingReveal: string | null = null;
  private _scrollTarget: string | null = null;
  private _loadingMore = false;
}
