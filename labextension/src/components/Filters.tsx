import * as React from 'react';

import { EvidenceController } from '../controller';
import { IFilter, isFiltering } from '../model';

const STATUS_OPTIONS: [string, string][] = [
  ['', 'any status'],
  ['pass', 'pass'],
  ['warn', 'warn'],
  ['fail', 'fail'],
  ['error', 'error'],
  ['info', 'info']
];
const KIND_OPTIONS: [string, string][] = [
  ['', 'any kind'],
  ['enforce', 'policy checks'],
  ['telemetry', 'telemetry'],
  ['review', 'reviews']
];
const SYNC_OPTIONS: [string, string][] = [
  ['', 'any sync state'],
  ['pending', 'not synced'],
  ['synced', 'synced']
];

function Select({
  label,
  value,
  options,
  onChange
}: {
  label: string;
  value: string;
  options: [string, string][];
  onChange: (v: string) => void;
}): JSX.Element {
  return (
    <select
      className="vl-Select"
      aria-label={label}
      value={value}
      onChange={e => onChange(e.currentTarget.value)}
    >
      {options.map(([v, words]) => (
        <option key={v} value={v}>
          {words}
        </option>
      ))}
    </select>
  );
}

/** Search and filters over the loaded records (notebook, policy, name, control, id). */
export function Filters({ controller }: { controller: EvidenceController }): JSX.Element {
  const f = controller.filter;
  const set = (update: Partial<IFilter>) => controller.setFilter(update);
  return (
    <div className="vl-Filters" role="search">
      <input
        type="search"
        className="vl-Search"
        placeholder="Search notebook, policy, control…"
        aria-label="Search records"
        value={f.text}
        onChange={e => set({ text: e.currentTarget.value })}
      />
      <div className="vl-Filters-row">
        <Select
          label="Filter by status"
          value={f.status}
          options={STATUS_OPTIONS}
          onChange={v => set({ status: v as IFilter['status'] })}
        />
        <Select
          label="Filter by kind"
          value={f.kind}
          options={KIND_OPTIONS}
          onChange={v => set({ kind: v })}
        />
        <Select
          label="Filter by sync state"
          value={f.sync}
          options={SYNC_OPTIONS}
          onChange={v => set({ sync: v as IFilter['sync'] })}
        />
        {isFiltering(f) && (
          <button className="vl-Button vl-Button-quiet" onClick={() => controller.clearFilter()}>
            Clear filters
          </button>
        )}
      </div>
    </div>
  );
}
