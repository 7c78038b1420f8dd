import * as React from 'react';

import {
  IEvidenceRecord,
  baseName,
  dataEngine,
  errorText,
  formatThreshold,
  formatValue,
  notebookPath,
  shortNumber
} from '../model';
import { ICompareLoad, ILoad } from '../controller';
import { IHistory, IHistoryPoint } from '../overtime';
import { Compare } from './Compare';
import { Sparkline } from './Sparkline';
import { Light } from './status';

/** A record's runs over time and its comparison, with what the detail can ask for. */
export interface IOverTime {
  history?: ILoad<IHistory>;
  comparison?: ICompareLoad;
  /** Records it can be compared with (same policy and store). */
  candidates: IEvidenceRecord[];
  compare(baseline: string): void;
  closeCompare(): void;
}

/** What a record's detail can ask the application to do. */
export interface IRecordActions {
  /** Open ``path`` and select the cell run as ``In [executionCount]``. */
  openCell(path: string, executionCount: number | null): void;
}

const INTEGRITY_WORDS: { [key: string]: string } = {
  verified: 'verified: matches its hash chain',
  unverified: 'not verified yet',
  damaged: 'DAMAGED: does not match its hash chain'
};

function obj(v: unknown): { [key: string]: any } {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as any) : {};
}

/** ``0.7927 [0.644, 0.911]``: the value with its confidence interval. */
export function valueWithCi(r: { [key: string]: any }): string {
  const ci = obj(obj(r.metadata).ci);
  const value = formatValue(r.actual_value);
  if (typeof ci.low === 'number' && typeof ci.high === 'number') {
    return `${value} [${shortNumber(ci.low, 3)}, ${shortNumber(ci.high, 3)}]`;
  }
  return value;
}

/** Per-group values and counts, ``<25: 0.591 (n=149)``. */
function Groups({ metadata }: { metadata: { [key: string]: any } }): JSX.Element | null {
  const groups = Object.entries(obj(metadata.groups));
  if (!groups.length) {
    return null;
  }
  return (
    <ul className="vl-Groups" aria-label="per-group values">
      {groups.map(([name, raw]) => {
        const g = obj(raw);
        const value =
          typeof g.value === 'number'
            ? shortNumber(g.value, 3)
            : typeof g.tpr === 'number'
              ? `TPR ${shortNumber(g.tpr, 3)} · FPR ${typeof g.fpr === 'number' ? shortNumber(g.fpr, 3) : '–'}`
              : '–';
        return (
          <li key={name} className="vl-Group-value">
            <span className="vl-Group-name" title={name}>
              {name}
            </span>{' '}
            {value} <span className="vl-Muted">n={typeof g.n === 'number' ? g.n : '?'}</span>
          </li>
        );
      })}
      {Object.entries(obj(metadata.excluded_groups)).map(([name, n]) => (
        <li key={`x-${name}`} className="vl-Group-value vl-Muted">
          <span className="vl-Group-name" title={name}>
            {name}
          </span>{' '}
          excluded (n={String(n)})
        </li>
      ))}
    </ul>
  );
}

/** One control, stacked so that it fits 250 px: id (full text on hover and focus),
 * value with CI against the threshold, metric, reason, per-group values. */
export function ControlItem({
  result,
  trend
}: {
  result: unknown;
  trend?: { points: IHistoryPoint[]; current: string };
}): JSX.Element {
  const r = obj(result);
  const status = typeof r.status === 'string' ? r.status : r.passed ? 'pass' : 'fail';
  const id = String(r.control_id ?? '?');
  const metadata = obj(r.metadata);
  const reason = typeof r.reason === 'string' ? r.reason : metadata.reason;
  const description = typeof r.description === 'string' ? r.description : '';
  return (
    <li className={`vl-Control vl-Control-${status}`} data-control={id}>
      <div className="vl-Control-head">
        <Light status={status} />
        <span
          className="vl-Control-id"
          tabIndex={0}
          title={description ? `${id}: ${description}` : id}
        >
          {id}
        </span>
      </div>
      <div className="vl-Control-value">
        <span className="vl-Value">{valueWithCi(r)}</span>{' '}
        <span className="vl-Threshold">
          <span className="vl-Muted">needs</span> {formatThreshold(r.operator, r.threshold)}
        </span>
      </div>
      {trend && <Sparkline points={trend.points} current={trend.current} />}
      <div className="vl-Metric" title={String(r.metric_key ?? '')}>
        {String(r.metric_key ?? '')}
      </div>
      {typeof reason === 'string' && reason && status !== 'pass' && (
        <div className="vl-Reason">{reason}</div>
      )}
      <Groups metadata={metadata} />
    </li>
  );
}

function Fact({ label, children }: { label: string; children: React.ReactNode }): JSX.Element {
  return (
    <div className="vl-Fact">
      <span className="vl-Fact-label">{label}</span> {children}
    </div>
  );
}

const DECISION_WORDS: { [key: string]: string } = {
  accept_risk: 'risk accepted',
  reject: 'rejected',
  needs_work: 'needs work',
  approve: 'approved'
};

/** The human decisions on a report: who decided what, on which control or on the
 * whole report (newest first, as listed). */
export function Reviews({ reviews }: { reviews: IEvidenceRecord[] }): JSX.Element | null {
  if (!reviews.length) {
    return null;
  }
  return (
    <ul className="vl-Reviews" aria-label="reviews">
      {reviews.map(r => {
        const s = r.summary;
        const decision = typeof s.decision === 'string' ? s.decision : '';
        const what = s.scope === 'report' ? 'the report' : String(s.control_id ?? '?');
        return (
          <li key={r.id} className={`vl-Review vl-Review-${decision}`}>
            <b>{DECISION_WORDS[decision] ?? (decision || 'pending')}</b> on {what}
            {typeof s.reviewer === 'string' && s.reviewer ? ` by ${s.reviewer}` : ''}
          </li>
        );
      })}
    </ul>
  );
}

/** A record's full detail (fetched on opening); ``listed`` is its row meanwhile;
 * ``reviews`` are the listed review records of this report. */
export function Detail({
  rec,
  listed,
  actions,
  reviews = [],
  overTime
}: {
  rec?: IEvidenceRecord;
  listed: IEvidenceRecord;
  actions: IRecordActions;
  reviews?: IEvidenceRecord[];
  overTime?: IOverTime;
}): JSX.Element {
  if (!rec || !rec.data) {
    return <div className="vl-Detail">loading…</div>;
  }
  const data = rec.data;
  const error = obj(data.error);
  if (typeof error.message === 'string') {
    return <div className="vl-Detail vl-Message-error">{errorText(error as any)}</div>;
  }
  const results: unknown[] = Array.isArray(data.results) ? data.results : [];
  const frame = obj(data.data);
  const bindings = Object.entries(obj(data.bindings));
  const path = notebookPath(listed);
  const count = listed.summary.execution_count;
  const integrity = rec.integrity ?? listed.integrity;
  const fingerprint = typeof frame.content_hash === 'string' ? frame.content_hash : '';
  const engine = dataEngine(frame);
  return (
    <div className="vl-Detail">
      {path && (
        <button
          className="vl-Button vl-Button-quiet vl-OpenCell"
          onClick={() => actions.openCell(path, typeof count === 'number' ? count : null)}
          title={`Open ${path}${typeof count === 'number' ? ` at cell [${count}]` : ''}`}
        >
          Open {baseName(path)}
          {typeof count === 'number' ? ` at cell [${count}]` : ''}
        </button>
      )}
      {results.length > 0 && (
        <ul className="vl-Controls" aria-label="controls">
          {results.map((r, i) => {
            const id = String(obj(r).control_id ?? i);
            const points = overTime?.history?.value?.controls[id];
            return (
              <ControlItem
                key={id}
                result={r}
                trend={points ? { points, current: rec.id } : undefined}
              />
            );
          })}
        </ul>
      )}
      {overTime?.history?.state === 'error' && overTime.history.error && (
        <div className="vl-Muted vl-Trend-error">no trend: {errorText(overTime.history.error)}</div>
      )}
      {listed.kind === 'enforce' && overTime && (
        <Compare
          load={overTime.comparison}
          candidates={overTime.candidates}
          onCompare={overTime.compare}
          onClose={overTime.closeCompare}
        />
      )}
      <Reviews reviews={reviews} />
      <div className="vl-Meta">
        {integrity && (
          <Fact label="integrity">
            <span className={`vl-Integrity vl-Integrity-${integrity}`}>
              {INTEGRITY_WORDS[integrity]}
            </span>
            {(rec.integrity_reason ?? listed.integrity_reason) && (
              <span className="vl-Muted"> ({rec.integrity_reason ?? listed.integrity_reason})</span>
            )}
          </Fact>
        )}
        {engine && (
          <Fact label="engine">
            <span className="vl-Engine-detail" title={engine.title || undefined}>
              {engine.text}
            </span>
          </Fact>
        )}
        {fingerprint && (
          <Fact label="data">
            {typeof frame.rows === 'number' ? `${frame.rows} rows, ` : ''}
            fingerprint{' '}
            <code title={fingerprint}>{fingerprint.split(':').pop()!.slice(0, 12)}</code>
            {engine?.fingerprintOf && <span className="vl-Muted"> of {engine.fingerprintOf}</span>}
          </Fact>
        )}
        {bindings.length > 0 && (
          <Fact label="bindings">
            {bindings
              .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
              .join(', ')}
          </Fact>
        )}
        <Fact label="record">
          #{rec.seq} <code title={rec.id}>{rec.id.slice(0, 12)}</code> · hash{' '}
          <code title={rec.hash}>{rec.hash.slice(0, 12)}</code>
        </Fact>
        <Fact label="file">
          <span className="vl-Path" title={rec.path}>
            {rec.path}
          </span>
        </Fact>
      </div>
    </div>
  );
}
