import * as React from 'react';

import { EvidenceController } from '../controller';
import { ControlItem, Detail, Reviews, valueWithCi } from '../components/Detail';
import { Filters } from '../components/Filters';
import { Header } from '../components/Header';
import { RecordList, windowOf } from '../components/RecordList';
import { RecordLine, RecordRow } from '../components/RecordRow';
import { SyncBar } from '../components/SyncBar';
import { SyncStatus, VerifyStatus } from '../components/SyncStatus';
import { Light } from '../components/status';
import { IEvidenceRecord, syncStarted, withJob } from '../model';
import { PanelView, useController } from '../panel';
import { VerdictView } from '../statusbar';
import { TRACKERS, detail, record } from './fixtures';
import { act, render } from './render';

function controllerWith(records: IEvidenceRecord[], extra: { [endPoint: string]: unknown } = {}) {
  const request = async (endPoint: string) => {
    if (endPoint === 'evidence') {
      return { records, total: records.length, offset: 0, limit: 200, stores: [], version: 'v1' };
    }
    if (endPoint in extra) {
      return extra[endPoint];
    }
    if (endPoint === 'trackers') {
      return TRACKERS;
    }
    if (endPoint in extra) {
      return extra[endPoint];
    }
    if (endPoint.startsWith('evidence/')) {
      const id = decodeURIComponent(endPoint.slice('evidence/'.length));
      return detail(records.find(r => r.id === id)!);
    }
    throw { body: { message: `no route ${endPoint}` } };
  };
  return new EvidenceController(request);
}

const actions = { openCell: jest.fn() };

/** Re-renders ``view`` on every change of ``c``, as the panel does for its views. */
function Live({ c, view }: { c: EvidenceController; view: () => JSX.Element }): JSX.Element {
  useController(c);
  return view();
}

describe('Light', () => {
  it('says its status in words, not colour alone', () => {
    const { node, unmount } = render(<Light status="fail" />);
    const light = node.querySelector('.vl-Light-fail')!;
    expect(light.getAttribute('aria-label')).toBe('status fail');
    expect(light.textContent).toBe('✖');
    unmount();
    const odd = render(<Light status="purple" />);
    expect(odd.node.querySelector('.vl-Light-info')).not.toBeNull();
    odd.unmount();
  });
});

describe('Header', () => {
  it('counts records, and what the filters leave', async () => {
    const c = controllerWith([record(), record({ status: 'pass' })]);
    await c.refresh();
    const { node, unmount } = render(<PanelView controller={c} actions={actions} />);
    expect(node.querySelector('.vl-Compliance-count')!.textContent).toBe('2 records');
    act(() => c.setFilter({ status: 'pass' }));
    expect(node.querySelector('.vl-Compliance-count')!.textContent).toBe('1 of 2');
    unmount();
    const h = render(<Header controller={c} />);
    expect(h.node.querySelector('button[aria-label="Refresh evidence"]')).not.toBeNull();
    h.unmount();
    c.dispose();
  });
});

describe('SyncBar', () => {
  it('offers every pending record, or the selection', async () => {
    const recs = [record(), record()];
    const c = controllerWith(recs);
    await c.refresh();
    const { node, unmount } = render(<Live c={c} view={() => <SyncBar controller={c} />} />);
    const mlflow = () => node.querySelector<HTMLButtonElement>('button[data-target="mlflow"]')!;
    expect(mlflow().textContent).toBe('Sync to MLflow');
    expect(mlflow().disabled).toBe(false);
    act(() => c.toggleSelected(recs[0].id));
    expect(mlflow().textContent).toBe('Sync 1 selected to MLflow');
    expect(node.textContent).toContain('Clear selection');
    unmount();
    c.dispose();
  });
});

describe('Filters', () => {
  it('drives the controller filter', async () => {
    const c = controllerWith([record()]);
    const { node, unmount } = render(<Live c={c} view={() => <Filters controller={c} />} />);
    const select = node.querySelector<HTMLSelectElement>('select[aria-label="Filter by status"]')!;
    act(() => {
      select.value = 'fail';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(c.filter.status).toBe('fail');
    const clear = [...node.querySelectorAll('button')].find(
      b => b.textContent === 'Clear filters'
    )!;
    act(() => clear.click());
    expect(c.filter.status).toBe('');
    unmount();
    c.dispose();
  });
});

describe('RecordRow', () => {
  it('heads the record by policy, notebook and cell, and opens its detail', async () => {
    const rec = record();
    const c = controllerWith([rec]);
    await c.refresh();
    const { node, unmount } = render(
      <Live
        c={c}
        view={() => (
          <ul>
            <RecordRow controller={c} rec={c.state.records[0]} actions={actions} />
          </ul>
        )}
      />
    );
    const title = node.querySelector('.vl-Record-title')!;
    expect(title.textContent).toBe('German credit data audit v1.0');
    expect(title.getAttribute('title')).toBe('German credit data audit v1.0');
    expect(node.querySelector('.vl-Source')!.textContent).toBe('01_quickstart.ipynb [7]');
    expect(node.querySelector('.vl-Time')!.textContent).toMatch(/^2026-11-2\d \d\d:\d\d$/);
    expect(node.textContent).not.toContain(rec.id);
    expect(node.querySelector('.vl-Record-line')!.textContent).toBe('3 passed · 1 failed');
    await act(async () => {
      (node.querySelector('.vl-Record-main') as HTMLElement).click();
    });
    expect(node.querySelector('.vl-Record-main')!.getAttribute('aria-expanded')).toBe('true');
    expect(node.querySelector('.vl-Controls')).not.toBeNull();
    unmount();
    c.dispose();
  });

  it('writes telemetry in words and binary units, no glyph for time or memory', () => {
    const rec = record({
      kind: 'telemetry',
      telemetry: {
        wall_s: 1.5,
        peak_rss_bytes: 300 * 1024 * 1024,
        energy_kwh: 0.0031,
        co2e_g: 0.004
      }
    });
    const { node, unmount } = render(<RecordLine rec={rec} />);
    expect(node.textContent).toBe('1.50 s · peak 300.0 MiB · 3.1 Wh · 4 mg CO2e');
    expect(node.textContent).not.toMatch(/[⏱▲⚡]/);
    unmount();
  });

  it('does not dress an accepted risk as a pass', () => {
    const rec = record({ kind: 'review', summary: { decision: 'accept_risk', reviewer: 'Ada' } });
    const { node, unmount } = render(<RecordLine rec={rec} />);
    expect(node.textContent).toBe('risk accepted by Ada');
    unmount();
  });
});

describe('Detail', () => {
  it('stacks each control: value with CI, threshold, metric, reason, groups', () => {
    const rec = detail(record());
    const { node, unmount } = render(<Detail rec={rec} listed={record()} actions={actions} />);
    const items = node.querySelectorAll('.vl-Control');
    expect(items).toHaveLength(2);
    const first = items[0];
    expect(first.querySelector('.vl-Control-id')!.getAttribute('title')).toBe(
      'approvals-by-age-with-a-very-long-identifier: Four-fifths rule by age band'
    );
    expect(first.querySelector('.vl-Control-id')!.getAttribute('tabindex')).toBe('0');
    expect(first.querySelector('.vl-Control-value')!.textContent).toBe(
      '0.7927 [0.644, 0.911] needs > 0.8'
    );
    expect(first.querySelector('.vl-Reason')!.textContent).toBe(
      'disparate_impact = 0.7927, which is not > 0.8'
    );
    expect([...first.querySelectorAll('.vl-Group-value')].map(g => g.textContent)).toEqual([
      '<25 0.591 n=149',
      '>=60 0.745 n=51',
      'tiny excluded (n=3)'
    ]);
    expect(items[1].querySelector('.vl-Control-value')!.textContent).toBe('1 needs >= 0.99');
    expect(items[1].querySelector('.vl-Reason')).toBeNull();
    expect(node.querySelector('table')).toBeNull();
    const meta = node.querySelector('.vl-Meta')!.textContent!;
    expect(meta).toContain('integrity verified: matches its hash chain');
    expect(meta).toContain('data 1000 rows, fingerprint 0123456789ab');
    expect(meta).toContain('bindings gender=gender, age=age+x');
    const open = node.querySelector<HTMLButtonElement>('.vl-OpenCell')!;
    expect(open.textContent).toBe('Open 01_quickstart.ipynb at cell [7]');
    open.click();
    expect(actions.openCell).toHaveBeenCalledWith('notebooks/01_quickstart.ipynb', 7);
    unmount();
  });

  it('survives a malformed control and says when the record could not be read', () => {
    const bad = render(<ControlItem result={{ metadata: 'x', actual_value: 'n/a' }} />);
    expect(bad.node.textContent).toContain('?');
    bad.unmount();
    expect(valueWithCi({ actual_value: 0.5, metadata: { ci: { low: 'a' } } })).toBe('0.5');
    const rec = { ...record(), data: { error: { message: 'record damaged', hint: 'run verify' } } };
    const { node, unmount } = render(<Detail rec={rec} listed={record()} actions={actions} />);
    expect(node.textContent).toBe('record damaged (run verify)');
    unmount();
  });
});

describe('SyncStatus', () => {
  it('gives a sqlite store the command that serves it, not a fake link', async () => {
    const c = controllerWith([record()]);
    await c.refresh();
    c['_state'] = withJob(syncStarted(c.state, 'mlflow'), {
      job: 'j',
      target: 'mlflow',
      state: 'done',
      progress: {},
      result: {
        synced: [],
        skipped: [],
        runs: [
          {
            target: 'mlflow',
            run_id: 'abcdef0123',
            url: 'sqlite:////p/mlflow.db/#/experiments/1/runs/abcdef0123'
          }
        ]
      },
      error: null
    });
    const { node, unmount } = render(<SyncStatus controller={c} />);
    expect(node.querySelector('a')).toBeNull();
    expect(node.querySelector('.vl-Command')!.textContent).toBe(
      'mlflow ui --backend-store-uri sqlite:////p/mlflow.db --host 127.0.0.1 --port 5000'
    );
    unmount();
    c.dispose();
  });

  it('keeps the W&B hint out of an MLflow error', async () => {
    const c = controllerWith([record()]);
    await c.refresh();
    await c.sync('mlflow');
    c['_state'] = {
      ...c.state,
      sync: { ...c.state.sync!, error: { message: 'MLflow is not reachable', pending: ['a'] } }
    };
    const { node, unmount } = render(<SyncStatus controller={c} />);
    expect(node.textContent).toContain('1 record stays pending; nothing is lost.');
    expect(node.textContent).not.toContain('W&B');
    unmount();
    c.dispose();
  });

  it('shows the verify outcome', async () => {
    const c = controllerWith([], { verify: { ok: true, stores: [{ store: 'a', ok: true }] } });
    await c.verifyAll();
    const { node, unmount } = render(<VerifyStatus controller={c} />);
    expect(node.textContent).toContain('1 evidence store verified');
    unmount();
    c.dispose();
  });
});

describe('RecordList', () => {
  it('renders only the rows near the viewport of 10,000', () => {
    const ids = Array.from({ length: 10000 }, (_, i) => `r${i}`);
    const w = windowOf(ids, new Map(), 64 * 5000, 640);
    expect(w.first).toBe(5000 - 600 / 64 - 0.375 > 0 ? Math.floor((64 * 5000 - 600) / 64) : 0);
    expect(w.last - w.first + 1).toBeLessThan(40);
    expect(w.before + (w.last - w.first + 1) * 64 + w.after).toBe(640000);
    const measured = windowOf(['a', 'b', 'c'], new Map([['a', 300]]), 0, 100, 64, 0);
    expect(measured).toEqual({ first: 0, last: 0, before: 0, after: 128 });
    expect(windowOf([], new Map(), 0, 100)).toEqual({ first: 0, last: -1, before: 0, after: 0 });
  });

  it('puts a window of a long list in the DOM', async () => {
    const recs = Array.from({ length: 300 }, () => record());
    const c = controllerWith(recs);
    await c.refresh();
    const { node, unmount } = render(
      <RecordList controller={c} records={c.visible} actions={actions} />
    );
    const rows = node.querySelectorAll('li.vl-Record').length;
    expect(rows).toBeGreaterThan(5);
    expect(rows).toBeLessThan(60);
    const first = node.querySelector('li.vl-Record')!;
    expect([first.getAttribute('aria-posinset'), first.getAttribute('aria-setsize')]).toEqual([
      '1',
      '300'
    ]);
    unmount();
    c.dispose();
  });
});

describe('VerdictView', () => {
  it('shows the last verdict of the notebook in front and opens the panel', async () => {
    const c = controllerWith([record({ status: 'fail' })]);
    await c.refresh();
    const onOpen = jest.fn();
    const { node, unmount } = render(
      <VerdictView controller={c} path={() => 'notebooks/01_quickstart.ipynb'} onOpen={onOpen} />
    );
    const button = node.querySelector('button')!;
    expect(button.textContent).toBe('Compliance: ✖ FAIL 75%');
    button.click();
    expect(onOpen).toHaveBeenCalled();
    unmount();
    const none = render(<VerdictView controller={c} path={() => 'other.ipynb'} onOpen={onOpen} />);
    expect(none.node.textContent).toBe('');
    none.unmount();
    c.dispose();
  });
});

describe('Reviews', () => {
  it('lists who decided what on a report, sign-off included', () => {
    const reviews = [
      record({
        kind: 'review',
        summary: { scope: 'report', decision: 'approve', reviewer: 'Ada' }
      }),
      record({
        kind: 'review',
        summary: { control_id: 'di', decision: 'accept_risk', reviewer: 'Bo' }
      })
    ];
    const { node, unmount } = render(<Reviews reviews={reviews} />);
    expect([...node.querySelectorAll('.vl-Review')].map(li => li.textContent)).toEqual([
      'approved on the report by Ada',
      'risk accepted on di by Bo'
    ]);
    unmount();
    const none = render(<Reviews reviews={[]} />);
    expect(none.node.textContent).toBe('');
    none.unmount();
  });
});

describe('integrity', () => {
  it('marks a damaged record in its row and says why in its detail', async () => {
    const rec = record({ integrity: 'damaged', integrity_reason: 'hash mismatch' });
    const c = controllerWith([rec]);
    await c.refresh();
    const listed = c.state.records[0];
    expect(listed.integrity).toBe('damaged');
    const row = render(
      <ul>
        <RecordRow controller={c} rec={listed} actions={actions} />
      </ul>
    );
    const mark = row.node.querySelector('.vl-Integrity-damaged')!;
    expect(mark.textContent).toBe('damaged: does not match its hash chain');
    expect(mark.getAttribute('title')).toBe('hash mismatch');
    row.unmount();
    const full = { ...detail(listed), integrity: 'damaged' as const };
    const d = render(<Detail rec={full} listed={listed} actions={actions} />);
    expect(d.node.querySelector('.vl-Meta')!.textContent).toContain(
      'integrity DAMAGED: does not match its hash chain (hash mismatch)'
    );
    d.unmount();
    c.dispose();
  });
});
