import { ReactWidget, folderIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';
import { Signal } from '@lumino/signaling';
import * as React from 'react';

import {
  IEvidencePage,
  IEvidenceRecord,
  ISyncJob,
  IState,
  Target,
  TARGET_LABELS,
  controlsLine,
  dismissSync,
  errorText,
  formatBytes,
  formatCo2,
  formatEnergy,
  formatSeconds,
  formatValue,
  groupRecords,
  initialState,
  operatorSymbol,
  pending,
  statusCounts,
  syncFailed,
  syncIds,
  syncStarted,
  toggleOpen,
  toggleSelected,
  withError,
  withJob,
  withPage
} from './model';
import { ApiError, requestAPI } from './request';

/** Colour is never the only signal: each traffic light also carries an icon (and its
 * status word as the accessible name and tooltip), as the inline report does. */
const STATUS_ICON: Record<string, string> = {
  pass: '✔',
  warn: '▲',
  fail: '✖',
  error: '⊘',
  skipped: '–',
  info: 'i'
};

/** Tracker settings from the settings editor; sent with each request, never stored. */
export interface ITrackerSettings {
  mlflow_tracking_uri?: string;
  mlflow_experiment?: string;
  wandb_project?: string;
  wandb_entity?: string;
  wandb_mode?: string;
}

const PAGE = 200;

function asApiError(error: unknown) {
  return error instanceof ApiError
    ? error.body
    : { message: String(error), code: 'CLIENT_ERROR' };
}

/** Owns the state, the refresh poll and the sync calls; renders through React. */
export class CompliancePanel extends ReactWidget {
  constructor() {
    super();
    this.id = 'vl-jupyter-compliance';
    this.addClass('vl-Compliance');
    this.title.caption = 'Compliance evidence';
    // focusable from script only: activation moves the keyboard focus into the panel
    this.node.tabIndex = -1;
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: 5000, backoff: true, max: 60000 },
      name: 'vl-jupyter:evidence',
      standby: 'when-hidden'
    });
  }

  /** Start polling (after the settings are loaded). */
  start(): void {
    void this._poll.start();
  }

  set trackerSettings(value: ITrackerSettings) {
    this._settings = value;
  }

  set pollInterval(seconds: number) {
    const interval = Math.max(1, seconds) * 1000;
    this._poll.frequency = { interval, backoff: true, max: 12 * interval };
  }

  get state(): IState {
    return this._state;
  }

  /** Ask for a refresh now (a cell finished in this tab). */
  refreshSoon(): void {
    void this._poll.refresh();
  }

  async refresh(): Promise<void> {
    try {
      const page = await requestAPI<IEvidencePage>(
        'evidence',
        {},
        { limit: String(PAGE), exclude_kind: 'sync' }
      );
      this._set(withPage(this._state, page));
    } catch (error) {
      this._set(withError(this._state, asApiError(error)));
      throw error; // lets the poll back off while the server is away
    }
  }

  async sync(target: Target): Promise<void> {
    if (this._state.sync?.state === 'running') {
      return;
    }
    const ids = syncIds(this._state);
    this._set(syncStarted(this._state, target));
    try {
      let job = await requestAPI<ISyncJob>('sync', {
        method: 'POST',
        body: JSON.stringify({ target, ids, settings: this._settings })
      });
      this._set(withJob(this._state, job));
      while (job.state === 'queued' || job.state === 'running') {
        await new Promise(resolve => setTimeout(resolve, 400));
        job = await requestAPI<ISyncJob>(`sync/${job.job}`);
        this._set(withJob(this._state, job));
      }
    } catch (error) {
      this._set(syncFailed(this._state, target, asApiError(error)));
    }
    void this._poll.refresh();
  }

  async loadDetail(rec: IEvidenceRecord): Promise<void> {
    if (this._details.has(rec.id)) {
      return;
    }
    try {
      const full = await requestAPI<IEvidenceRecord>(
        `evidence/${encodeURIComponent(rec.id)}`,
        {},
        { store: rec.store }
      );
      this._details.set(rec.id, full);
    } catch (error) {
      this._details.set(rec.id, { ...rec, data: { error: asApiError(error) } });
    }
    this._changed.emit();
  }

  /** Opening the sidebar (a click on its tab, the command) moves the keyboard focus into
   * it: in JupyterLab's right area the panel comes before its tab bar in the page, so Tab
   * from the sidebar tab would skip the panel and leave for the status bar. */
  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (!this.isVisible || this.node.contains(document.activeElement)) {
      return;
    }
    const first = this.node.querySelector<HTMLElement>(
      'button:not([disabled]), input, [tabindex="0"], a[href]'
    );
    (first ?? this.node).focus();
  }

  /** Enter/Space on the sidebar tab only shows the panel (no activation, unlike a
   * click): activate it then, so the focus follows, but only when the focus is on this
   * panel's own tab (a restored layout does not steal the focus). */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    const focused = document.activeElement;
    if (focused && focused.closest(`[data-id="${this.id}"]`)) {
      this.activate(); // posted: runs once the sidebar itself is visible
    }
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  protected render(): JSX.Element {
    return <PanelView panel={this} />;
  }

  /** Emitted whenever what the panel shows changes. */
  get changed(): Signal<this, void> {
    return this._changed;
  }

  details(id: string): IEvidenceRecord | undefined {
    return this._details.get(id);
  }
  update_(fn: (s: IState) => IState): void {
    this._set(fn(this._state));
  }

  private _set(next: IState): void {
    if (next !== this._state) {
      this._state = next;
      this._changed.emit();
    }
  }

  private _state: IState = initialState();
  private _settings: ITrackerSettings = {};
  private _details = new Map<string, IEvidenceRecord>();
  private _changed = new Signal<this, void>(this);
  private _poll: Poll;
}

function useModel(panel: CompliancePanel): IState {
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const onChange = () => setTick(t => t + 1);
    panel.changed.connect(onChange);
    return () => {
      panel.changed.disconnect(onChange);
    };
  }, [panel]);
  return panel.state;
}

function PanelView({ panel }: { panel: CompliancePanel }): JSX.Element {
  const state = useModel(panel);
  const groups = React.useMemo(() => groupRecords(state.records), [state.records]);
  const selected = state.selected.size;
  const running = state.sync?.state === 'running';
  const label = (t: Target) => {
    const n = selected || pending(state.records, t).length;
    return selected
      ? `Sync ${n} selected to ${TARGET_LABELS[t]}`
      : `Sync to ${TARGET_LABELS[t]}`;
  };
  return (
    <div className="vl-Compliance-body">
      <header className="vl-Compliance-header">
        <h2 className="vl-Compliance-title">Compliance</h2>
        <span className="vl-Compliance-count" aria-live="polite">
          {state.loading ? 'loading…' : `${state.total} records`}
        </span>
        <button
          className="vl-Button vl-Button-quiet"
          onClick={() => void panel.refresh().catch(() => undefined)}
          title="Refresh now"
          aria-label="Refresh evidence"
        >
          ↻
        </button>
      </header>
      <div className="vl-Compliance-actions" role="toolbar" aria-label="Sync">
        {(['mlflow', 'wandb'] as Target[]).map(t => (
          <button
            key={t}
            className="vl-Button"
            data-target={t}
            disabled={running || (!selected && pending(state.records, t).length === 0 && !!state.version)}
            onClick={() => void panel.sync(t)}
            title={
              selected
                ? `Log the ${selected} selected records to ${TARGET_LABELS[t]}`
                : `Log every record not yet in ${TARGET_LABELS[t]}`
            }
          >
            {label(t)}
          </button>
        ))}
        {selected > 0 && (
          <button
            className="vl-Button vl-Button-quiet"
            onClick={() => panel.update_(s => ({ ...s, selected: new Set() }))}
          >
            Clear selection
          </button>
        )}
      </div>
      <SyncStatus panel={panel} state={state} />
      {state.error && (
        <div className="vl-Message vl-Message-error" role="alert">
          {errorText(state.error)}
        </div>
      )}
      {!state.loading && !state.records.length && !state.error && (
        <div className="vl-Empty">
          No evidence yet. Run a cell that calls <code>vl.enforce()</code> or uses{' '}
          <code>%%vl_monitor</code>; its record appears here.
        </div>
      )}
      <div className="vl-Compliance-list">
        {groups.map(group => (
          <section key={group.notebook} className="vl-Group" aria-label={`Notebook folder ${group.notebook}`}>
            <h3 className="vl-Group-title" title={`${group.notebook}/.venturalitica`}>
              <folderIcon.react tag="span" className="vl-Group-icon" />{' '}
              {group.notebook === '.' ? '(root folder)' : group.notebook}
            </h3>
            {group.sessions.map(session => (
              <div key={session.session} className="vl-Session">
                <div className="vl-Session-title">
                  <span title="evidence session">{session.session}</span>
                  <Lights records={session.records} />
                </div>
                <ul className="vl-Records">
                  {session.records.map(rec => (
                    <RecordRow key={rec.id} panel={panel} rec={rec} state={state} />
                  ))}
                </ul>
              </div>
            ))}
          </section>
        ))}
        {state.total > state.records.length && (
          <div className="vl-More">
            Showing the newest {state.records.length} of {state.total}.
          </div>
        )}
      </div>
    </div>
  );
}

function Lights({ records }: { records: IEvidenceRecord[] }): JSX.Element {
  const counts = statusCounts(records);
  return (
    <span className="vl-Lights">
      {(['pass', 'warn', 'fail', 'error'] as const)
        .filter(s => counts[s])
        .map(s => (
          <span key={s} className={`vl-Light vl-Light-${s}`} title={`${counts[s]} ${s}`}>
            {counts[s]}
          </span>
        ))}
    </span>
  );
}

function SyncStatus({ panel, state }: { panel: CompliancePanel; state: IState }): JSX.Element | null {
  const sync = state.sync;
  if (!sync) {
    return null;
  }
  const name = TARGET_LABELS[sync.target];
  return (
    <div
      className={`vl-Message vl-Message-${sync.state === 'error' ? 'error' : sync.state === 'done' ? 'success' : 'info'}`}
      role={sync.state === 'error' ? 'alert' : 'status'}
      aria-live="polite"
    >
      {sync.state === 'running' && (
        <div>
          Syncing to {name}…{' '}
          {sync.total ? (
            <progress value={sync.done} max={sync.total} aria-label={`sync progress ${sync.done} of ${sync.total}`} />
          ) : null}{' '}
          {sync.total ? `${sync.done}/${sync.total}` : sync.message}
        </div>
      )}
      {sync.state === 'done' && (
        <div className="vl-Sync-done">
          Synced {sync.synced} record{sync.synced === 1 ? '' : 's'} to {name}
          {sync.skipped ? ` (${sync.skipped} already there)` : ''}.
          {sync.runs.map(run => (
            <div key={run.run_id}>
              {run.url && /^https?:\/\//.test(run.url) ? (
                <a className="vl-RunLink" href={run.url} target="_blank" rel="noreferrer">
                  Open {TARGET_LABELS[run.target as Target] ?? run.target} run {run.run_id.slice(0, 8)}
                </a>
              ) : (
                <span>
                  {TARGET_LABELS[run.target as Target] ?? run.target} run {run.run_id}
                  {run.url ? `: ${run.url}` : ''}
                </span>
              )}
            </div>
          ))}
          {sync.notes.map(note => (
            <div key={note} className="vl-Note">
              {note}
            </div>
          ))}
        </div>
      )}
      {sync.state === 'error' && sync.error && (
        <div>
          Sync to {name} failed: {errorText(sync.error)}
          {sync.error.pending && sync.error.pending.length ? (
            <div className="vl-Note">
              {sync.error.pending.length} record(s) stay pending; nothing is lost. For W&B without
              credentials or network, set the W&B mode to “offline” in Settings: runs are written
              locally for a later <code>wandb sync</code>.
            </div>
          ) : null}
        </div>
      )}
      {sync.state !== 'running' && (
        <button className="vl-Button vl-Button-quiet" onClick={() => panel.update_(dismissSync)} aria-label="Dismiss">
          ✕
        </button>
      )}
    </div>
  );
}

function RecordRow({
  panel,
  rec,
  state
}: {
  panel: CompliancePanel;
  rec: IEvidenceRecord;
  state: IState;
}): JSX.Element {
  const open = state.open === rec.id;
  const checked = state.selected.has(rec.id);
  const toggle = () => {
    panel.update_(s => toggleOpen(s, rec.id));
    if (!open) {
      void panel.loadDetail(rec);
    }
  };
  const s = rec.summary;
  const time = new Date(rec.created);
  return (
    <li className={`vl-Record${open ? ' vl-Record-open' : ''}`} data-record-id={rec.id} data-kind={rec.kind}>
      <div className="vl-Record-row">
        {rec.syncable && (
          <input
            type="checkbox"
            className="vl-Record-check"
            checked={checked}
            aria-label={`Select ${s.name ?? rec.kind} for sync`}
            onChange={() => panel.update_(st => toggleSelected(st, rec.id))}
          />
        )}
        <span
          className={`vl-Light vl-Light-${rec.status}`}
          role="img"
          aria-label={`status ${rec.status}`}
          title={rec.status}
        >
          {STATUS_ICON[rec.status] ?? ''}
        </span>
        <div
          className="vl-Record-main"
          role="button"
          tabIndex={0}
          aria-expanded={open}
          onClick={toggle}
          onKeyDown={e => {
            if (e.key === 'Enter' || e.key === ' ') {
              e.preventDefault();
              toggle();
            }
          }}
        >
          <div className="vl-Record-title">
            <span className="vl-Kind">{rec.kind}</span> {s.name ?? ''}
            <time className="vl-Time" dateTime={rec.created} title={rec.created}>
              {time.toLocaleTimeString()}
            </time>
          </div>
          <RecordLine rec={rec} />
          <div className="vl-Badges">
            {Object.entries(rec.synced).map(([target, link]) =>
              link.url && /^https?:\/\//.test(link.url) ? (
                <a
                  key={target}
                  className={`vl-Badge vl-Badge-${target}`}
                  href={link.url}
                  target="_blank"
                  rel="noreferrer"
                  title={`synced to ${target}: run ${link.run_id}`}
                  onClick={e => e.stopPropagation()}
                >
                  {TARGET_LABELS[target as Target] ?? target} ↗
                </a>
              ) : (
                <span key={target} className={`vl-Badge vl-Badge-${target}`} title={`synced: ${link.url ?? link.run_id}`}>
                  {TARGET_LABELS[target as Target] ?? target} ✓
                </span>
              )
            )}
          </div>
        </div>
      </div>
      {open && <Detail rec={panel.details(rec.id)} />}
    </li>
  );
}

function RecordLine({ rec }: { rec: IEvidenceRecord }): JSX.Element | null {
  const s = rec.summary;
  if (rec.kind === 'enforce') {
    const policy = [s.policy_title, s.policy_version ? `v${s.policy_version}` : null]
      .filter(Boolean)
      .join(' ');
    return (
      <div className="vl-Record-line">
        {policy && <span className="vl-Policy">{policy}</span>} <span>{controlsLine(s)}</span>
      </div>
    );
  }
  if (rec.kind === 'telemetry' && rec.telemetry) {
    const t = rec.telemetry;
    return (
      <div className="vl-Record-line vl-Telemetry">
        ⏱ {formatSeconds(t.wall_s)} · ▲ {formatBytes(t.peak_rss_bytes)} · ⚡ {formatEnergy(t.energy_kwh)} ·{' '}
        {formatCo2(t.co2e_g)}
      </div>
    );
  }
  if (rec.kind === 'review') {
    const words: { [key: string]: string } = {
      accept_risk: 'accept risk',
      reject: 'reject',
      needs_work: 'needs work'
    };
    return (
      <div className="vl-Record-line">
        Review of <code>{String(s.control_id ?? '')}</code>:{' '}
        <b>{words[s.decision] ?? String(s.decision ?? 'pending')}</b>
        {s.reviewer ? ` by ${s.reviewer}` : ''}
      </div>
    );
  }
  return null;
}

function Detail({ rec }: { rec?: IEvidenceRecord }): JSX.Element {
  if (!rec || !rec.data) {
    return <div className="vl-Detail">loading…</div>;
  }
  const data = rec.data;
  if (data.error && data.error.message) {
    return <div className="vl-Detail vl-Message-error">{errorText(data.error)}</div>;
  }
  const results: any[] = Array.isArray(data.results) ? data.results : [];
  return (
    <div className="vl-Detail">
      {results.length > 0 && (
        <table className="vl-Controls">
          <thead>
            <tr>
              <th scope="col">Control</th>
              <th scope="col">Value</th>
              <th scope="col">Threshold</th>
            </tr>
          </thead>
          <tbody>
            {results.map(r => {
              const status = r.status ?? (r.passed ? 'pass' : 'fail');
              return (
                <tr key={r.control_id} className={`vl-Control-${status}`}>
                  <td>
                    <span className={`vl-Light vl-Light-${status}`} aria-label={status} title={status} role="img">
                      {STATUS_ICON[status] ?? ''}
                    </span>{' '}
                    <span title={r.description ?? ''}>{r.control_id}</span>
                    <div className="vl-Metric">{r.metric_key}</div>
                  </td>
                  <td>{formatValue(r.actual_value)}</td>
                  <td>
                    {operatorSymbol(r.operator)} {formatValue(r.threshold)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div className="vl-Meta">
        <div>id {rec.id}</div>
        <div>
          #{rec.seq} · hash {rec.hash.slice(0, 12)}… · {rec.path}
        </div>
      </div>
    </div>
  );
}
