/** Which engine computed a record: a tag in the row where it is not pandas, and the
 * engine, source and fingerprint kind in the detail (issue 12). */
import * as React from 'react';

import { Detail } from '../components/Detail';
import { RecordRow } from '../components/RecordRow';
import { EvidenceController } from '../controller';
import { dataEngine, emptyFilter, engineLabel, engineTag, filterRecords } from '../model';
import { detail, record } from './fixtures';
import { render } from './render';

const PARQUET = {
  rows: 1000,
  content_hash: '011715d0561cbbe787ef',
  fingerprint_of: 'source and count tables (the data was never in memory)',
  source: {
    kind: 'parquet',
    pattern: '/data/credit-*.parquet',
    files: [{ path: '/data/credit-1.parquet' }, { path: '/data/credit-2.parquet' }],
    engine: 'duckdb',
    engine_version: '2.0.1'
  }
};

describe('the engine tag', () => {
  it('names the engine and its source, and nothing for pandas', () => {
    expect(engineTag({ engine: 'duckdb', source_kind: 'parquet' })).toEqual({
      text: 'DuckDB',
      title: 'computed in DuckDB from Parquet'
    });
    expect(engineTag({ engine: 'pyspark', source_kind: 'frame' })).toEqual({
      text: 'Spark',
      title: 'computed in Spark from a frame'
    });
    expect(engineTag({ engine: 'polars' })).toEqual({
      text: 'Polars',
      title: 'computed in Polars'
    });
    expect(engineTag({ engine: 'pandas' })).toBeNull();
    expect(engineTag({})).toBeNull();
    expect(engineTag({ engine: 7 })).toBeNull();
    expect(engineLabel('someday-engine')).toBe('someday-engine');
  });

  it('sits on the row of an engine record only, before the tracker badges', () => {
    const c = new EvidenceController(async () => ({}));
    const duck = record({
      summary: { ...record().summary, engine: 'duckdb', source_kind: 'sql' },
      synced: { mlflow: { run_id: 'r1', url: null } }
    });
    const one = render(<RecordRow controller={c} rec={duck} actions={{ openCell: jest.fn() }} />);
    const tag = one.node.querySelector('.vl-Badges .vl-Engine')!;
    expect(tag.textContent).toBe('DuckDB');
    expect(tag.getAttribute('title')).toBe('computed in DuckDB from SQL');
    expect(one.node.querySelector('.vl-Badges')!.textContent).toBe('DuckDBmlflow ✓');
    expect(one.node.querySelector('.vl-Record-line')!.textContent).toBe('3 passed · 1 failed');
    one.unmount();
    const pandas = render(
      <RecordRow controller={c} rec={record()} actions={{ openCell: jest.fn() }} />
    );
    expect(pandas.node.querySelector('.vl-Engine')).toBeNull();
    expect(pandas.node.querySelector('.vl-Badges')).toBeNull();
    pandas.unmount();
    c.dispose();
  });
});

describe('searching by engine', () => {
  it('finds the records an engine computed', () => {
    const duck = record({ summary: { ...record().summary, engine: 'duckdb' } });
    const pandas = record();
    expect(filterRecords([duck, pandas], { ...emptyFilter(), text: 'DuckDB' })).toEqual([duck]);
  });
});

describe("the detail's engine line", () => {
  it('says engine, version, source and what the fingerprint covers', () => {
    expect(dataEngine(PARQUET)).toEqual({
      text: 'DuckDB 2.0.1 · Parquet, 2 files',
      title: '/data/credit-1.parquet\n/data/credit-2.parquet',
      fingerprintOf: 'source and count tables (the data was never in memory)'
    });
    expect(
      dataEngine({
        source: { kind: 'sql', sql: 'SELECT 1', engine: 'duckdb' },
        fingerprint_of: 'x'
      })
    ).toEqual({ text: 'DuckDB · SQL', title: 'SELECT 1', fingerprintOf: 'x' });
    expect(
      dataEngine({
        source: {
          kind: 'frame',
          type: 'polars.LazyFrame',
          engine: 'polars',
          engine_version: '2.1.0'
        }
      })
    ).toEqual({ text: 'Polars 2.1.0 · polars.LazyFrame', title: '', fingerprintOf: '' });
    expect(dataEngine({ fingerprint_of: 'values (the frame was in memory)' })).toEqual({
      text: 'pandas (in memory)',
      title: '',
      fingerprintOf: 'values (the frame was in memory)'
    });
    expect(dataEngine({})).toBeNull(); // a record that says nothing claims nothing
    expect(dataEngine({ source: 'duckdb' })).toBeNull();
  });

  it('is shown in the open record', () => {
    const listed = record({ summary: { ...record().summary, engine: 'duckdb' } });
    const full = detail(listed);
    full.data = { ...full.data, data: PARQUET };
    const { node, unmount } = render(
      <Detail rec={full} listed={listed} actions={{ openCell: jest.fn() }} />
    );
    const engine = node.querySelector('.vl-Engine-detail')!;
    expect(engine.textContent).toBe('DuckDB 2.0.1 · Parquet, 2 files');
    expect(engine.getAttribute('title')).toBe('/data/credit-1.parquet\n/data/credit-2.parquet');
    expect(node.textContent).toContain(
      '1000 rows, fingerprint 011715d0561c of source and count tables (the data was never in memory)'
    );
    unmount();
  });
});
