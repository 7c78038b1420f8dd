import * as React from 'react';

import { ICompareLoad } from '../controller';
import {
  IEvidenceRecord,
  errorText,
  formatDateTime,
  formatValue,
  recordHeading,
  versionLabel
} from '../model';
import { IChange, IComparison, arrow, changeText, direction, pText } from '../overtime';
import { Light } from './status';

/** What the "Compare with…" picker can choose: the previous run, a tag, or a record. */
export function ComparePicker({
  candidates,
  busy,
  onCompare
}: {
  candidates: IEvidenceRecord[];
  busy: boolean;
  onCompare: (baseline: string) => void;
}): JSX.Element {
  const [choice, setChoice] = React.useState('previous');
  const [tag, setTag] = React.useState('');
  const baseline = choice === 'tag' ? tag.trim() : choice;
  return (
    <form
      className="vl-ComparePicker"
      aria-label="Compare with another record"
      onSubmit={event => {
        event.preventDefault();
        if (baseline) {
          onCompare(baseline);
        }
      }}
    >
      <label className="vl-ComparePicker-label">
        <span>Compare with…</span>
        <select
          className="vl-Select"
          value={choice}
          onChange={event => setChoice(event.currentTarget.value)}
        >
          <option value="previous">the previous run</option>
          <option value="tag">a tag…</option>
          {candidates.map(r => {
            const h = recordHeading(r);
            return (
              <option key={r.id} value={r.id}>
                {`${h.when} ${h.cell} ${r.status}`.replace(/\s+/g, ' ')}
              </option>
            );
          })}
        </select>
      </label>
      {choice === 'tag' && (
        <input
          className="vl-Input"
          aria-label="tag"
          placeholder="production"
          value={tag}
          onChange={event => setTag(event.currentTarget.value)}
        />
      )}
      <button className="vl-Button" type="submit" disabled={busy || !baseline}>
        Compare
      </button>
    </form>
  );
}

const LEVEL_WORDS: { [level: string]: string } = {
  none: 'no alert',
  warning: 'warning',
  critical: 'critical',
  emergency: 'emergency'
};

/** One control now and in the baseline, stacked for 250 px. */
export function ChangeItem({ change }: { change: IChange }): JSX.Element {
  const dir = direction(change);
  return (
    <li
      className={`vl-Change vl-Change-${dir} vl-Alert-${change.level}`}
      data-control={change.control_id}
    >
      <div className="vl-Control-head">
        <Light status={change.status} />
        <span className="vl-Control-id" tabIndex={0} title={change.control_id}>
          {change.control_id}
        </span>
      </div>
      <div className="vl-Change-values">
        <span className="vl-Muted">then</span> {formatValue(change.baseline_value)}{' '}
        <span className="vl-Muted">now</span> <b>{formatValue(change.value)}</b>
      </div>
      <div className="vl-Change-delta">
        <span className={`vl-Arrow vl-Arrow-${dir}`} aria-hidden="true">
          {arrow(change)}
        </span>{' '}
        {changeText(change)} <span className="vl-Change-dir">{dir}</span>
        {change.better !== 'none' && <span className="vl-Muted"> ({change.better} is better)</span>}
      </div>
      <div className="vl-Change-test">
        {pText(change.p_value)}
        {change.significant === true && ', significant'}
        {change.significant === false && ', within noise'} ·{' '}
        <span className={`vl-AlertLevel vl-AlertLevel-${change.level}`}>
          {LEVEL_WORDS[change.level]}
        </span>
      </div>
    </li>
  );
}

/** The comparison's body: policy diff, per-control changes, added and removed. */
export function ComparisonView({ cmp }: { cmp: IComparison }): JSX.Element {
  const base = cmp.baseline;
  // never a raw 32-character id as a name: a record picked by id is "the record of <date>"
  const label =
    base.label && base.label !== base.id ? base.label : base.id ? 'the record' : 'baseline';
  const pb = cmp.policies.baseline;
  const pc = cmp.policies.current;
  return (
    <div className="vl-Comparison" aria-label="comparison">
      <div className="vl-Comparison-head">
        against <b>{label}</b>
        {base.created && (
          <>
            {' '}
            of <time dateTime={base.created}>{formatDateTime(base.created)}</time>
          </>
        )}{' '}
        · worst:{' '}
        <span className={`vl-AlertLevel vl-AlertLevel-${cmp.worst_level}`}>
          {LEVEL_WORDS[cmp.worst_level]}
        </span>
      </div>
      {cmp.policy_changed && (
        <div className="vl-PolicyDiff" role="note">
          <b>policy changed</b>
          <div className="vl-Muted vl-PolicyDiff-versions">
            {[pb.title, versionLabel(pb.version)].filter(Boolean).join(' ')}{' '}
            <code title={pb.sha256 ?? ''}>{(pb.sha256 ?? '').slice(0, 8)}</code> →{' '}
            {[pc.title, versionLabel(pc.version)].filter(Boolean).join(' ')}{' '}
            <code title={pc.sha256 ?? ''}>{(pc.sha256 ?? '').slice(0, 8)}</code>
          </div>
          {cmp.policy_changes.length > 0 && (
            <ul aria-label="threshold changes">
              {cmp.policy_changes.map(p => (
                <li key={p.control_id} className="vl-PolicyChange">
                  <span className="vl-Control-id" title={p.control_id}>
                    {p.control_id}
                  </span>
                  <div>
                    <s>{p.before}</s> → {p.after}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <ul className="vl-Changes" aria-label="controls now and then">
        {cmp.changes.map(c => (
          <ChangeItem key={c.control_id} change={c} />
        ))}
      </ul>
      {cmp.added.length > 0 && (
        <div className="vl-Comparison-added">
          <b>added:</b> {cmp.added.join(', ')}
        </div>
      )}
      {cmp.removed.length > 0 && (
        <div className="vl-Comparison-removed">
          <b>removed:</b> {cmp.removed.join(', ')}
        </div>
      )}
      {cmp.method && <div className="vl-Muted vl-Comparison-method">{cmp.method}</div>}
    </div>
  );
}

/** The "Compare with…" section of a record's detail: the picker, then the answer. */
export function Compare({
  load,
  candidates,
  onCompare,
  onClose
}: {
  load?: ICompareLoad;
  candidates: IEvidenceRecord[];
  onCompare: (baseline: string) => void;
  onClose: () => void;
}): JSX.Element {
  return (
    <section className="vl-Compare" aria-label="compare">
      <ComparePicker
        candidates={candidates}
        busy={load?.state === 'loading'}
        onCompare={onCompare}
      />
      {load?.state === 'loading' && <div className="vl-Muted">comparing…</div>}
      {load?.state === 'error' && load.error && (
        <div className="vl-Message vl-Message-error" role="alert">
          {errorText(load.error)}
        </div>
      )}
      {load?.state === 'done' && load.value && (
        <>
          <ComparisonView cmp={load.value} />
          <button className="vl-Button vl-Button-quiet" onClick={onClose}>
            Close comparison
          </button>
        </>
      )}
    </section>
  );
}
