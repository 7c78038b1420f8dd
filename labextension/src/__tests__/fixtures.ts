import { IEvidenceRecord, ITracker } from '../model';

/** What ``GET trackers`` answers on a server with the two shipped trackers. */
export const TRACKERS: { trackers: ITracker[] } = {
  trackers: [
    {
      name: 'mlflow',
      label: 'MLflow',
      configured: false,
      settings: [
        { key: 'mlflow_tracking_uri', title: 'tracking URI' },
        { key: 'mlflow_experiment', title: 'experiment' }
      ]
    },
    {
      name: 'wandb',
      label: 'W&B',
      configured: false,
      settings: [
        { key: 'wandb_project', title: 'project' },
        { key: 'wandb_entity', title: 'entity' },
        { key: 'wandb_mode', title: 'mode' }
      ]
    }
  ]
};

let seq = 0;

/** A listed record as the server sends it; ``over`` replaces fields. */
export function record(over: Partial<IEvidenceRecord> = {}): IEvidenceRecord {
  seq += 1;
  return {
    id: `20261122T0900${String(seq).padStart(2, '0')}000000Z-0000000${seq % 10}`,
    kind: 'enforce',
    created: `2026-11-22T09:00:${String(seq % 60).padStart(2, '0')}.000000Z`,
    session: 's1',
    seq,
    hash: 'h'.repeat(64),
    summary: {
      name: null,
      counts: { pass: 3, fail: 1 },
      controls: 4,
      policy_title: 'German credit data audit',
      policy_version: '1.0',
      notebook: 'notebooks/01_quickstart.ipynb',
      execution_count: 7,
      score: 0.75
    },
    file: 'f.json',
    path: 'notebooks/.venturalitica/records/f.json',
    store: 'notebooks/.venturalitica',
    notebook: 'notebooks',
    status: 'fail',
    synced: {},
    syncable: true,
    ...over
  };
}

/** The detail of an enforce record: two controls, one with groups and a CI. */
export function detail(rec: IEvidenceRecord): IEvidenceRecord {
  return {
    ...rec,
    integrity: 'verified',
    data: {
      data: { rows: 1000, columns: ['a'], content_hash: 'sha256:0123456789abcdef' },
      bindings: { gender: 'gender', age: ['age', 'x'] },
      results: [
        {
          control_id: 'approvals-by-age-with-a-very-long-identifier',
          description: 'Four-fifths rule by age band',
          metric_key: 'disparate_impact',
          actual_value: 0.79271,
          operator: 'gt',
          threshold: 0.8,
          status: 'fail',
          metadata: {
            ci: { low: 0.6441, high: 0.9112, level: 0.95 },
            groups: { '<25': { n: 149, value: 0.5906 }, '>=60': { n: 51, value: 0.745 } },
            excluded_groups: { tiny: 3 },
            reason: 'disparate_impact = 0.7927, which is not > 0.8'
          }
        },
        {
          control_id: 'completeness',
          metric_key: 'data_completeness',
          actual_value: 1,
          operator: 'ge',
          threshold: 0.99,
          status: 'pass',
          metadata: {}
        }
      ]
    }
  };
}
