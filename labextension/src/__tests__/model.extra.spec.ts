import {
  emptyFilter,
  filterRecords,
  formatDateTime,
  formatThreshold,
  formatValue,
  lastVerdict,
  mlflowHint,
  normalizePage,
  normalizeRecord,
  notebookPath,
  recordHeading,
  versionLabel
} from '../model';
import { record } from './fixtures';

describe('telling records apart', () => {
  it('heads a record by policy, notebook, cell and date, never by its raw id', () => {
    const rec = record({ created: '2026-11-22T09:05:00.000000Z' });
    const h = recordHeading(rec);
    expect(h.title).toBe('German credit data audit v1.0');
    expect(h.source).toBe('01_quickstart.ipynb');
    expect(h.cell).toBe('[7]');
    expect(h.when).toBe(formatDateTime('2026-11-22T09:05:00.000000Z'));
    expect(h.when).toMatch(/^2026-11-2[12] \d\d:\d\d$/);
    expect(Object.values(h).join(' ')).not.toContain(rec.id);
  });

  it('falls back to the folder, the name and the kind', () => {
    const named = record({
      summary: { policy_title: 'P', policy_version: 'unversioned', name: 'after reweighing' },
      notebook: 'models'
    });
    expect(recordHeading(named)).toMatchObject({
      title: 'P unversioned · after reweighing',
      source: 'models/',
      cell: ''
    });
    const root = record({ kind: 'telemetry', summary: { name: 'train' }, notebook: '.' });
    expect(recordHeading(root)).toMatchObject({ title: 'train', source: 'project root' });
    const review = record({ kind: 'review', summary: { control_id: 'di' } });
    expect(recordHeading(review).title).toBe('review of di');
    const signoff = record({ kind: 'review', summary: { scope: 'report' } });
    expect(recordHeading(signoff).title).toBe('sign-off of the report');
  });

  it('writes versions and thresholds as the inline report does', () => {
    expect(versionLabel('1.0')).toBe('v1.0');
    expect(versionLabel('unversioned')).toBe('unversioned');
    expect(versionLabel(null)).toBe('');
    expect(formatThreshold('gt', 0.4)).toBe('> 0.4');
    expect(formatThreshold('ge', 30)).toBe('>= 30');
    expect(formatValue(0.79271)).toBe('0.7927');
    expect(formatValue(NaN)).toBe('–');
    expect(formatDateTime('not a time')).toBe('not a time');
    expect(formatDateTime(42)).toBe('');
  });

  it('knows which notebook it can open', () => {
    expect(notebookPath(record())).toBe('notebooks/01_quickstart.ipynb');
    // an absolute path (Jupyter Server's) opens relative to the store's folder
    expect(notebookPath(record({ summary: { notebook: '/srv/p/notebooks/x.ipynb' } }))).toBe(
      'notebooks/x.ipynb'
    );
    expect(notebookPath(record({ notebook: '.', summary: { notebook: '/srv/p/x.ipynb' } }))).toBe(
      'x.ipynb'
    );
    expect(notebookPath(record({ summary: { notebook: 'train.py' } }))).toBeNull();
  });
});

describe('never trusting the API', () => {
  it('coerces every field to its type and drops records without an id', () => {
    const rec = normalizeRecord({
      id: 'r1',
      kind: 7,
      status: 'purple',
      summary: 'nope',
      synced: { mlflow: { run_id: 5, url: 'http://x' }, wandb: 'bad' },
      syncable: 'yes',
      seq: '3',
      telemetry: { wall_s: '1', peak_rss_bytes: 10 },
      integrity: 'maybe'
    })!;
    expect(rec).toMatchObject({
      id: 'r1',
      kind: 'record',
      status: 'info',
      summary: {},
      syncable: false,
      seq: 0,
      integrity: undefined,
      telemetry: { wall_s: null, peak_rss_bytes: 10, energy_kwh: null, co2e_g: null }
    });
    expect(rec.synced.mlflow).toEqual({
      run_id: null,
      url: 'http://x',
      location: null,
      synced_at: null
    });
    expect(rec.synced.wandb.url).toBeNull();
    expect(normalizeRecord({ kind: 'enforce' })).toBeNull();
    expect(normalizeRecord(null)).toBeNull();
    const page = normalizePage({ records: [{ id: 'a' }, 3, { id: '' }], total: 'x' });
    expect(page.records.map(r => r.id)).toEqual(['a']);
    expect(page.total).toBe(1);
    expect(normalizePage('<html>').records).toEqual([]);
  });
});

describe('filters', () => {
  const a = record({ status: 'fail' });
  const b = record({
    status: 'pass',
    kind: 'telemetry',
    summary: { name: 'train_model', notebook: 'other.ipynb' },
    synced: { mlflow: { run_id: 'r', url: null } }
  });
  const c = record({
    status: 'warn',
    kind: 'review',
    summary: { control_id: 'di', reviewer: 'Ada' }
  });
  const all = [a, b, c];

  it('filters by status, kind, sync state and words', () => {
    expect(filterRecords(all, emptyFilter())).toBe(all);
    expect(filterRecords(all, { ...emptyFilter(), status: 'fail' })).toEqual([a]);
    expect(filterRecords(all, { ...emptyFilter(), kind: 'telemetry' })).toEqual([b]);
    expect(filterRecords(all, { ...emptyFilter(), sync: 'synced' })).toEqual([b]);
    expect(filterRecords(all, { ...emptyFilter(), sync: 'pending' })).toEqual([a, c]);
    expect(filterRecords(all, { ...emptyFilter(), text: 'GERMAN quickstart' })).toEqual([a]);
    expect(filterRecords(all, { ...emptyFilter(), text: 'ada' })).toEqual([c]);
    expect(filterRecords(all, { ...emptyFilter(), text: 'german ada' })).toEqual([]);
  });

  it('finds the last verdict of the notebook in front', () => {
    const older = record({ status: 'pass' });
    expect(lastVerdict([a, older], 'notebooks/01_quickstart.ipynb')).toBe(a);
    expect(lastVerdict([b, a], '01_quickstart.ipynb')).toBe(a);
    expect(lastVerdict([a], 'other.ipynb')).toBeNull();
    expect(lastVerdict([a], null)).toBeNull();
  });
});

describe('the sqlite MLflow store', () => {
  it('is not a link: it says how to serve it', () => {
    expect(mlflowHint('sqlite:////home/me/p/mlflow.db/#/experiments/1/runs/5f')).toBe(
      'mlflow ui --backend-store-uri sqlite:////home/me/p/mlflow.db --host 127.0.0.1 --port 5000'
    );
    expect(mlflowHint('http://127.0.0.1:5000/#/x')).toBeNull();
    expect(mlflowHint(null)).toBeNull();
  });
});
