import { EvidenceController, INotifier, MAX_RECORDS, PAGE } from '../controller';
import { IEvidenceRecord } from '../model';
import { TRACKERS, record } from './fixtures';

type Call = { endPoint: string; init?: RequestInit; query?: { [key: string]: string | undefined } };

/** A fake server: ``routes`` answer by endpoint; every call is recorded. */
function fake(routes: { [endPoint: string]: (call: Call) => unknown }) {
  const calls: Call[] = [];
  const request = async (endPoint: string, init?: RequestInit, query?: Call['query']) => {
    const call = { endPoint, init, query };
    calls.push(call);
    const all: typeof routes = { trackers: () => TRACKERS, ...routes };
    const route = all[endPoint] ?? all[endPoint.split('/')[0] + '/*'];
    if (!route) {
      throw { body: { message: `no route ${endPoint}`, code: 'HTTP_404' } };
    }
    return route(call);
  };
  return { request, calls };
}

function notifier() {
  const said: string[] = [];
  const n: INotifier = {
    success: m => said.push(`success: ${m}`),
    error: m => said.push(`error: ${m}`),
    info: m => said.push(`info: ${m}`)
  };
  return { n, said };
}

function listing(records: IEvidenceRecord[], total = records.length, version = 'v1') {
  return (call: Call) => {
    const offset = Number(call.query?.offset ?? 0);
    const limit = Number(call.query?.limit ?? PAGE);
    return {
      records: records.slice(offset, offset + limit),
      total,
      offset,
      limit,
      stores: [],
      version
    };
  };
}

describe('EvidenceController', () => {
  it('refreshes, normalises what the server says, and skips the sync ledger', async () => {
    const recs = [record(), record({ kind: 'telemetry', status: 'pass' })];
    const { request, calls } = fake({ evidence: listing([...recs, { junk: true } as any]) });
    const c = new EvidenceController(request);
    let changes = 0;
    c.changed.connect(() => (changes += 1));
    await c.refresh();
    expect(c.state.records.map(r => r.id)).toEqual(recs.map(r => r.id));
    expect(c.state.loading).toBe(false);
    expect(calls[0].endPoint).toBe('trackers');
    expect(calls[1].query).toEqual({ limit: String(PAGE), exclude_kind: 'sync' });
    expect(changes).toBe(2); // the tracker list, then the page
    const asked = calls.length;
    await c.refresh(); // nothing new: no re-render, and the tracker list is not asked again
    expect(changes).toBe(2);
    expect(calls.slice(asked).some(x => x.endPoint === 'trackers')).toBe(false);
    c.dispose();
  });

  it('keeps what it shows and says why when the server fails', async () => {
    let up = true;
    const recs = [record()];
    const { request } = fake({
      evidence: call => {
        if (!up) {
          throw { body: { message: 'the Jupyter server did not answer', code: 'NETWORK' } };
        }
        return listing(recs)(call);
      }
    });
    const c = new EvidenceController(request);
    await c.refresh();
    up = false;
    await expect(c.refresh()).rejects.toBeDefined();
    expect(c.state.error?.message).toBe('the Jupyter server did not answer');
    expect(c.state.records).toHaveLength(1);
    c.dispose();
  });

  it('pages through older records on demand, up to MAX_RECORDS, and keeps them on refresh', async () => {
    const recs = Array.from({ length: 450 }, () => record());
    const { request, calls } = fake({ evidence: listing(recs) });
    const c = new EvidenceController(request);
    await c.refresh();
    expect(c.state.records).toHaveLength(PAGE);
    await c.loadMore();
    expect(c.state.records).toHaveLength(2 * PAGE);
    await c.loadMore();
    expect(c.state.records).toHaveLength(450);
    const before = calls.length;
    await c.loadMore(); // everything is loaded: no call
    expect(calls.length).toBe(before);
    await c.refresh(); // a refresh reloads as many as were shown
    expect(c.state.records).toHaveLength(450);
    expect(MAX_RECORDS).toBe(10000);
    c.dispose();
  });

  it('filters the loaded records and reveals a hidden one by clearing the filters', async () => {
    const a = record({ status: 'fail' });
    const b = record({ status: 'pass' });
    const { request } = fake({
      evidence: listing([a, b]),
      'evidence/*': () => ({ ...b, data: { results: [] } })
    });
    const c = new EvidenceController(request);
    await c.refresh();
    c.setFilter({ status: 'fail' });
    expect(c.visible).toEqual([a]);
    expect(c.visible).toBe(c.visible); // memoised: no re-filter per render
    expect(c.reveal(b.id)).toBe(true);
    expect(c.filter.status).toBe('');
    expect(c.state.open).toBe(b.id);
    await Promise.resolve();
    await Promise.resolve();
    expect(c.details(b.id)?.data).toEqual({ results: [] });
    expect(c.reveal('missing')).toBe(false);
    c.dispose();
  });

  it('syncs, follows the job to the end and says so in a toast', async () => {
    const recs = [record(), record()];
    let polls = 0;
    const { request, calls } = fake({
      evidence: listing(recs),
      sync: () => ({
        job: 'j1',
        target: 'mlflow',
        state: 'queued',
        progress: {},
        result: null,
        error: null
      }),
      'sync/*': () => {
        polls += 1;
        return polls < 2
          ? {
              job: 'j1',
              target: 'mlflow',
              state: 'running',
              progress: { done: 1, total: 2 },
              result: null,
              error: null
            }
          : {
              job: 'j1',
              target: 'mlflow',
              state: 'done',
              progress: { done: 2, total: 2 },
              result: {
                synced: [{ record_id: recs[0].id, target: 'mlflow' }],
                skipped: [recs[1].id],
                runs: []
              },
              error: null
            };
      }
    });
    const { n, said } = notifier();
    const c = new EvidenceController(request, { notifier: n });
    await c.refresh();
    c.toggleSelected(recs[0].id);
    jest.useFakeTimers();
    const done = c.sync('mlflow');
    for (let i = 0; i < 5; i++) {
      await Promise.resolve();
      jest.advanceTimersByTime(400);
      await Promise.resolve();
    }
    jest.useRealTimers();
    await done;
    const body = JSON.parse(String(calls.find(x => x.endPoint === 'sync')!.init!.body));
    expect(body).toEqual({ target: 'mlflow', ids: [recs[0].id], settings: {} });
    expect(c.state.sync).toMatchObject({ state: 'done', synced: 1, skipped: 1 });
    expect(c.state.selected.size).toBe(0);
    expect(said).toEqual(['success: Synced 1 record to MLflow (1 already there)']);
    c.dispose();
  });

  it('reports a failed sync in the panel and in a toast', async () => {
    const { request } = fake({ evidence: listing([record()]) });
    const { n, said } = notifier();
    const c = new EvidenceController(request, { notifier: n });
    await c.refresh();
    await c.sync('wandb');
    expect(c.state.sync).toMatchObject({ state: 'error', target: 'wandb' });
    expect(said).toEqual(['error: Sync to W&B failed: no route sync']);
    c.dispose();
  });

  it('verifies every store and names the damaged ones', async () => {
    const { request } = fake({
      verify: () => ({
        ok: false,
        stores: [
          { store: 'a/.venturalitica', ok: true },
          { store: 'b/.venturalitica', ok: false }
        ]
      })
    });
    const { n, said } = notifier();
    const c = new EvidenceController(request, { notifier: n });
    await c.verifyAll();
    expect(c.verify).toEqual({
      state: 'done',
      ok: false,
      message: '1 of 2 evidence stores damaged: b/.venturalitica'
    });
    expect(said).toEqual(['error: 1 of 2 evidence stores damaged: b/.venturalitica']);
    c.dismissVerify();
    expect(c.verify).toBeNull();
    c.dispose();
  });
});

describe('EvidenceController notifications and reveal', () => {
  it('toasts a failing policy check that appears elsewhere, not the first load nor this notebook', async () => {
    const old = record({ status: 'fail' });
    let listed = [old];
    const { request } = fake({ evidence: call => listing(listed)(call) });
    const { n, said } = notifier();
    const c = new EvidenceController(request, {
      notifier: n,
      isLocal: rec => rec.summary.notebook === 'here.ipynb'
    });
    await c.refresh();
    expect(said).toEqual([]); // the first load only takes note
    const elsewhere = record({
      status: 'fail',
      summary: { ...old.summary, notebook: 'other/x.ipynb', execution_count: 3 }
    });
    const local = record({ status: 'fail', summary: { ...old.summary, notebook: 'here.ipynb' } });
    const passing = record({ status: 'pass', summary: { ...old.summary, notebook: 'y.ipynb' } });
    listed = [elsewhere, local, passing, old];
    await c.refresh();
    expect(said).toEqual([
      'error: Policy check failed: German credit data audit v1.0 in x.ipynb [3]'
    ]);
    c.dispose();
  });

  it('reveals a record listed only after the next refresh, and asks the list to scroll once', async () => {
    const a = record();
    let listed: IEvidenceRecord[] = [];
    const { request } = fake({
      evidence: call => listing(listed)(call),
      'evidence/*': () => ({ ...a, data: {} })
    });
    const c = new EvidenceController(request);
    await c.refresh();
    expect(c.reveal(a.id)).toBe(false);
    listed = [a];
    await c.refresh();
    expect(c.state.open).toBe(a.id);
    expect(c.takeScrollTarget()).toBe(a.id);
    expect(c.takeScrollTarget()).toBeNull();
    c.dispose();
  });
});
