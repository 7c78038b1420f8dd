import * as React from 'react';

import { EvidenceController } from '../controller';
import {
  IEvidenceRecord,
  ITracker,
  controlsLine,
  engineTag,
  formatBytes,
  formatCo2,
  formatEnergy,
  formatSeconds,
  recordHeading,
  trackerLabel
} from '../model';
import { compareCandidates } from '../overtime';
import { Detail, IRecordActions } from './Detail';
import { Light } from './status';

const DECISION_WORDS: { [key: string]: string } = {
  accept_risk: 'risk accepted',
  reject: 'rejected',
  needs_work: 'needs work',
  approve: 'approved'
};

/** The one-line summary under a record's heading. */
export function RecordLine({ rec }: { rec: IEvidenceRecord }): JSX.Element | null {
  const s = rec.summary;
  if (rec.kind === 'enforce') {
    return <div className="vl-Record-line">{controlsLine(s)}</div>;
  }
  if (rec.kind === 'telemetry' && rec.telemetry) {
    const t = rec.telemetry;
    // words, not glyphs: a stopwatch has no glyph in Debian's fonts, and ▲ is the
    // warn icon, not "memory"
    return (
      <div className="vl-Record-line vl-Telemetry">
        {formatSeconds(t.wall_s)} · peak {formatBytes(t.peak_rss_bytes)} ·{' '}
        {formatEnergy(t.energy_kwh)} · {formatCo2(t.co2e_g)}
      </div>
    );
  }
  if (rec.kind === 'review') {
    const decision = typeof s.decision === 'string' ? s.decision : '';
    return (
      <div className="vl-Record-line">
        <b>{DECISION_WORDS[decision] ?? (decision || 'pending')}</b>
        {typeof s.reviewer === 'string' && s.reviewer ? ` by ${s.reviewer}` : ''}
      </div>
    );
  }
  return null;
}

function Badges({
  rec,
  trackers
}: {
  rec: IEvidenceRecord;
  trackers: readonly ITracker[] | null;
}): JSX.Element | null {
  const entries = Object.entries(rec.synced);
  // the engine that computed a policy check, where it is not pandas (the row's summary
  // line is one cut line: a tag there would be cut off at 250 px)
  const engine = rec.kind === 'enforce' ? engineTag(rec.summary) : null;
  if (!entries.length && !engine) {
    return null;
  }
  return (
    <div className="vl-Badges">
      {engine && (
        <span className="vl-Tag vl-Engine" title={engine.title}>
          {engine.text}
        </span>
      )}
      {entries.map(([target, link]) => {
        const name = trackerLabel(trackers, target);
        return link.url && /^https?:\/\//.test(link.url) ? (
          <a
            key={target}
            className={`vl-Badge vl-Badge-${target}`}
            href={link.url}
            target="_blank"
            rel="noreferrer"
            title={`synced to ${name}: run ${link.run_id ?? ''}`}
            onClick={e => e.stopPropagation()}
          >
            {name} ↗
          </a>
        ) : (
          <span
            key={target}
            className={`vl-Badge vl-Badge-${target}`}
            title={`synced to ${name}: ${link.url ?? link.run_id ?? ''}`}
          >
            {name} ✓
          </span>
        );
      })}
    </div>
  );
}

/** One record: stacked lines that fit 250 px (heading, where and when, summary). */
export function RecordRow({
  controller,
  rec,
  actions,
  position
}: {
  controller: EvidenceController;
  rec: IEvidenceRecord;
  actions: IRecordActions;
  /** Its place in the whole list: a virtualised list tells assistive technology. */
  position?: { index: number; size: number };
}): JSX.Element {
  const { state } = controller;
  const open = state.open === rec.id;
  const h = recordHeading(rec);
  const where = [h.source, h.cell].filter(Boolean).join(' ');
  const toggle = () => controller.toggleOpen(rec);
  return (
    <li
      className={`vl-Record${open ? ' vl-Record-open' : ''}`}
      data-record-id={rec.id}
      data-kind={rec.kind}
      data-status={rec.status}
      aria-posinset={position?.index}
      aria-setsize={position?.size}
    >
      <div className="vl-Record-row">
        {rec.syncable && (
          <input
            type="checkbox"
            className="vl-Record-check"
            checked={state.selected.has(rec.id)}
            aria-label={`Select ${h.title} (${h.when}) for sync`}
            onChange={() => controller.toggleSelected(rec.id)}
          />
        )}
        <Light status={rec.status} />
        <div
          className="vl-Record-main"
          role="button"
          tabIndex={0}
          aria-expanded={open}
          aria-label={`${rec.kind} ${h.title}, ${rec.status}, ${where}, ${h.when}`}
          onClick={toggle}
          onKeyDown={e => {
            if (e.key === 'Enter' || e.key === ' ') {
              e.preventDefault();
              toggle();
            }
          }}
        >
          <div className="vl-Record-title" title={h.title}>
            {h.title}
          </div>
          <div className="vl-Record-where">
            <span
              className="vl-Source"
              title={String(rec.summary.notebook || rec.summary.script || rec.store)}
            >
              {where}
            </span>
          </div>
          <div className="vl-Record-when">
            <span className="vl-Kind">{rec.kind}</span> ·{' '}
            <time className="vl-Time" dateTime={rec.created} title={rec.created}>
              {h.when}
            </time>
          </div>
          {rec.integrity === 'damaged' && (
            <div className="vl-Integrity vl-Integrity-damaged" title={rec.integrity_reason ?? ''}>
              damaged: does not match its hash chain
            </div>
          )}
          <RecordLine rec={rec} />
          <Badges rec={rec} trackers={controller.trackers} />
        </div>
      </div>
      {open && (
        <Detail
          rec={controller.details(rec.id)}
          listed={rec}
          actions={actions}
          reviews={
            rec.kind === 'enforce'
              ? state.records.filter(r => r.kind === 'review' && r.summary.report_id === rec.id)
              : []
          }
          overTime={
            rec.kind === 'enforce'
              ? {
                  history: controller.history(rec.id),
                  comparison: controller.comparison(rec.id),
                  candidates: compareCandidates(state.records, rec),
                  compare: baseline => void controller.compare(rec, baseline),
                  closeCompare: () => controller.closeCompare(rec.id)
                }
              : undefined
          }
        />
      )}
    </li>
  );
}
