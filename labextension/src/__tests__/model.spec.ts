import {
  IEvidencePage,
  IEvidenceRecord,
  ISyncJob,
  clearSelection,
  controlsLine,
  dismissSync,
  formatBytes,
  formatCo2,
  formatEnergy,
  formatSeconds,
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
} from '../model';

let seq = 0;
function rec(over: Partial<IEvidenceRecord> = {}): IEvidenceRecord {
  seq += 1;
  return {
    id: `20261122T0900${String(seq).padStart(2, '0')}000000Z-0000000${seq % 10}`,
    kind: 'enforce',
    created: `2026-11-22T09:00:${String(seq).padStart(2, '0')}.000000Z`,
    session: 's1',
    seq,
    hash: 'h'.repeat(64),
    summary: { name: `r${seq}`, counts: { pass: 3, fail: 1 }, controls: 4 },
    file: 'f.json',
    path: 'a/.venturalitica/records/f.json',
    store: 'a/.venturalitica',
    notebook: 'a',
    status: 'pass',
    synced: {},
    syncable: true,
    ...over
  };
}

function page(records: IEvidenceRecord[], version = 'v1'): IEvidencePage {
  return { records, total: records.length, offset: 0, limit: 200, stores: [], version };
}

function job(over: Partial<ISyncJob> = {}): ISyncJob {
  return {
    job: 'j1',
    target: 'mlflow',
    state: 'running',
    progress: { done: 1, total: 3, message: 'x' },
    result: null,
    error: null,
    ...over
  };
}

describe('refreshing', () => {
  it('takes the first page and stops loading', () => {
    const a = rec();
    const s = withPage(initialState(), page([a]));
    expect(s.records).toEqual([a]);
    expect(s.loading).toBe(false);
    expect(s.version).toBe('v1');
  });

  it('returns the same state when nothing changed (no re-render, no flicker)', () => {
    const s = withPage(initialState(), page([rec()]));
    expect(withPage(s, page(s.records.slice(), 'v1'))).toBe(s);
  });

  it('keeps the selection and the open record across refreshes', () => {
    const a = rec();
    const b = rec();
    let s = withPage(initialState(), page([b, a]));
    s = toggleSelected(s, a.id);
    s = toggleOpen(s, b.id);
    const newer = rec();
    const next = withPage(s, page([newer, b, a], 'v2'));
    expect(next.records[0]).toBe(newer);
    expect(next.selected).toBe(s.selected);
    expect(next.open).toBe(b.id);
  });

  it('drops the selection of records that disappeared', () => {
    const a = rec();
    const b = rec();
    let s = withPage(initialState(), page([b, a]));
    s = toggleSelected(toggleSelected(s, a.id), b.id);
    s = toggleOpen(s, a.id);
    const next = withPage(s, page([b], 'v2'));
    expect([...next.selected]).toEqual([b.id]);
    expect(next.open).toBeNull();
  });

  it('keeps the list on a failed refresh and reports once', () => {
    const s = withPage(initialState(), page([rec()]));
    const err = withError(s, { message: 'the Jupyter server did not answer' });
    expect(err.records).toBe(s.records);
    expect(withError(err, { message: 'the Jupyter server did not answer' })).toBe(err);
    expect(withPage(err, page(s.records, 'v1')).error).toBeNull();
  });
});

describe('grouping', () => {
  it('groups newest first by notebook, then by session', () => {
    const records = [
      rec({ notebook: 'b', session: 's9' }),
      rec({ notebook: 'a', session: 's2' }),
      rec({ notebook: 'b', session: 's9' }),
      rec({ notebook: 'a', session: 's1' }),
      rec({ notebook: 'a', session: 's2' })
    ];
    const groups = groupRecords(records);
    expect(groups.map(g => g.notebook)).toEqual(['b', 'a']);
    expect(groups[1].sessions.map(s => s.session)).toEqual(['s2', 's1']);
    expect(groups[1].sessions[0].records).toEqual([records[1], records[4]]);
  });

  it('counts traffic lights', () => {
    const counts = statusCounts([rec({ status: 'fail' }), rec(), rec({ status: 'fail' })]);
    expect(counts).toMatchObject({ pass: 1, fail: 2, warn: 0 });
  });
});

describe('sync', () => {
  it('sends the selection, or null for every pending record', () => {
    const a = rec();
    const b = rec();
    let s = withPage(initialState(), page([b, a]));
    expect(syncIds(s)).toBeNull();
    s = toggleSelected(s, a.id);
    expect(syncIds(s)).toEqual([a.id]);
    expect(syncIds(clearSelection(s))).toBeNull();
  });

  it('counts pending records per target, never sync records', () => {
    const records = [
      rec({ synced: { mlflow: { run_id: 'r', url: 'http://m' } } }),
      rec(),
      rec({ kind: 'sync', syncable: false })
    ];
    expect(pending(records, 'mlflow').length).toBe(1);
    expect(pending(records, 'wandb').length).toBe(2);
  });

  it('follows a job to its links and clears the shipped selection', () => {
    const a = rec();
    let s = toggleSelected(withPage(initialState(), page([a])), a.id);
    s = syncStarted(s, 'mlflow');
    expect(s.sync).toMatchObject({ state: 'running', target: 'mlflow' });
    s = withJob(s, job());
    expect(s.sync).toMatchObject({ done: 1, total: 3, state: 'running' });
    expect(s.selected.size).toBe(1);
    s = withJob(
      s,
      job({
        state: 'done',
        progress: { done: 3, total: 3 },
        result: {
          synced: [{ record_id: a.id, target: 'mlflow', url: 'http://m/r' }],
          skipped: ['x'],
          runs: [{ target: 'mlflow', run_id: 'r1', url: 'http://m/#/experiments/1/runs/r1' }]
        }
      })
    );
    expect(s.sync).toMatchObject({ state: 'done', synced: 1, skipped: 1 });
    expect(s.sync!.runs[0].url).toContain('/runs/r1');
    expect(s.selected.size).toBe(0);
    expect(dismissSync(s).sync).toBeNull();
  });

  it('reports an error readably and keeps the selection', () => {
    const a = rec();
    let s = toggleSelected(withPage(initialState(), page([a])), a.id);
    s = syncStarted(s, 'wandb');
    s = withJob(
      s,
      job({
        state: 'error',
        error: {
          code: 'SYNC_FAILED',
          message: 'no W&B credentials',
          hint: 'use offline mode',
          pending: [a.id]
        }
      })
    );
    expect(s.sync).toMatchObject({ state: 'error' });
    expect(s.sync!.error!.hint).toBe('use offline mode');
    expect(s.selected.size).toBe(1);
    const failed = syncFailed(initialState(), 'mlflow', { message: 'the server answered 500' });
    expect(failed.sync).toMatchObject({ state: 'error', target: 'mlflow' });
  });

  it('cannot dismiss a running sync', () => {
    const s = syncStarted(initialState(), 'mlflow');
    expect(dismissSync(s)).toBe(s);
  });
});

describe('formatting', () => {
  it('formats telemetry figures with units', () => {
    expect(formatSeconds(0.0421)).toBe('42.1 ms');
    expect(formatSeconds(12.34)).toBe('12.34 s');
    expect(formatSeconds(125)).toBe('2 min 5 s');
    expect(formatSeconds(null)).toBe('–');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(formatEnergy(2.5e-6)).toBe('2.5 mWh');
    expect(formatEnergy(0.0123)).toBe('12.3 Wh');
    expect(formatCo2(0.004)).toBe('4 mg CO2e');
    expect(formatCo2(4e-7)).toBe('400 ng CO2e');
    expect(formatCo2(5.2)).toBe('5.2 g CO2e');
  });

  it('says how many controls passed and failed', () => {
    expect(controlsLine({ counts: { pass: 3, fail: 1, warn: 0 } })).toBe('3 passed · 1 failed');
    expect(controlsLine({ controls: 0 })).toBe('0 controls');
    expect(controlsLine({ counts: { error: 1 } })).toBe('1 error');
    expect(controlsLine({ counts: { error: 2, pass: 1 } })).toBe('1 passed · 2 errors');
    expect(controlsLine({ counts: 'junk', controls: 1 })).toBe('1 control');
  });

  it('shows operators as symbols', () => {
    expect(operatorSymbol('gt')).toBe('>');
    expect(operatorSymbol('le')).toBe('<=');
    expect(operatorSymbol('between')).toBe('between');
  });
});
