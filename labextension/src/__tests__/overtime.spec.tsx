import * as React from 'react';

import { EvidenceController, INotifier } from '../controller';
import { ChangeItem, Compare, ComparisonView } from '../components/Compare';
import { Detail } from '../components/Detail';
import { ExportBar } from '../components/Export';
import { Sparkline } from '../components/Sparkline';
import {
  IHistoryPoint,
  arrow,
  changeText,
  compareCandidates,
  direction,
  normalizeComparison,
  normalizeHistory,
  pText,
  sparkGeometry,
  sparkText
} from '../overtime';
import { useController } from '../panel';
import { detail, record } from './fixtures';
import { act, render } from './render';

function point(id: string, value: number | null, status = 'pass', threshold = 0.8): IHistoryPoint {
  return {
    record_id: id,
    created: '2026-12-01T10:00:00.000000Z',
    value,
    ci_low: null,
    ci_high: null,
    status,
    threshold
  };
}

const CHANGE = {
  control_id: 'approvals-by-age',
  metric_key: 'disparate_impact',
  better: 'higher',
  value: 0.7,
  baseline_value: 0.8,
  change: -0.1,
  relative_change: -0.125,
  degradation: 0.1,
  relative_degradation: 0.125,
  z: -2.5,
  p_value: 0.0124,
  significant: true,
  level: 'critical',
  status: 'fail',
  baseline_status: 'pass',
  threshold: 0.8,
  baseline_threshold: 0.75,
  reason: null
};

const COMPARISON = {
  record_id: 'now',
  store: 'notebooks/.venturalitica',
  policy_changed: true,
  policies: {
    baseline: { title: 'German credit', version: '1.0', sha256: 'aaaaaaaaaaaa' },
    current: { title: 'German credit', version: '1.1', sha256: 'bbbbbbbbbbbb' }
  },
  baseline: {
    id: 'then',
    hash: 'h',
    created: '2026-12-01T09:00:00Z',
    how: 'previous',
    label: 'previous'
  },
  worst_level: 'critical',
  method: 'two-sided z-test of the difference',
  changes: [
    CHANGE,
    { ...CHANGE, control_id: 'completeness', better: 'higher', value: 1, baseline_value: 1,
      change: 0, relative_change: 0, degradation: 0, p_value: null, significant: null,
      level: 'none', status: 'pass' } // prettier-ignore
  ],
  added: ['new-control'],
  removed: ['old-control'],
  policy_changes: [
    {
      control_id: 'approvals-by-age',
      before: 'disparate_impact gt 0.75',
      after: 'disparate_impact gt 0.8'
    }
  ]
};

function notifier() {
  const said: string[] = [];
  const n: INotifier = {
    success: m => said.push(`success: ${m}`),
    error: m => said.push(`error: ${m}`),
    info: m => said.push(`info: ${m}`)
  };
  return { n, said };
}

describe('over time: the pure parts', () => {
  it('normalises a history and drops what is not a number', () => {
    const h = normalizeHistory({
      record_id: 'r',
      store: 's',
      policy: 'p',
      controls: { a: [{ record_id: 'x', value: 'oops', threshold: 0.8, status: 'fail' }], b: 7 }
    });
    expect(h.controls.a[0]).toEqual({
      record_id: 'x',
      created: '',
      value: null,
      ci_low: null,
      ci_high: null,
      status: 'fail',
      threshold: 0.8
    });
    expect(h.controls.b).toEqual([]);
    expect(normalizeHistory(null)).toEqual({ record_id: '', store: '', policy: '', controls: {} });
  });

  it('normalises a comparison; an unknown level is none', () => {
    const c = normalizeComparison({ ...COMPARISON, worst_level: 'apocalypse', added: [1, 'x'] });
    expect(c.worst_level).toBe('none');
    expect(c.added).toEqual(['x']);
    expect(c.changes[0].level).toBe('critical');
    expect(c.changes[1].significant).toBeNull();
    expect(c.policy_changed).toBe(true);
  });

  it('draws the threshold inside the picture and rings the current run', () => {
    const pts = [point('a', 0.9), point('b', 0.85), point('c', 0.7, 'fail')];
    const g = sparkGeometry(pts, 'c', 100, 20, 2);
    expect(g.segments).toEqual(['2,2 50,6 98,18']);
    expect(g.thresholdY).toBe(10);
    expect(g.mark).toEqual({ x: 98, y: 18 });
    expect(g.dots.map(d => d.status)).toEqual(['pass', 'pass', 'fail']);
    // a run without a value breaks the line
    const gap = sparkGeometry([point('a', 0.9), point('b', null), point('c', 0.7)], 'x', 100, 20);
    expect(gap.segments).toHaveLength(2);
    expect(gap.mark).toBeNull();
    // flat values: a band, not a division by zero
    const flat = sparkGeometry([point('a', 1, 'pass', 1), point('b', 1, 'pass', 1)], 'a', 10, 10);
    expect(flat.segments[0]).toBe('3,5 7,5');
  });

  it('says the sparkline in words', () => {
    const pts = [point('a', 0.9), point('c', 0.7123, 'fail')];
    expect(sparkText(pts, 'c')).toBe(
      '2 runs, oldest first: 0.9 pass, 0.7123 fail; threshold 0.8; this record 0.7123 fail'
    );
    expect(sparkText([], 'c')).toBe('no earlier runs');
  });

  it('words the change, its arrow and its p-value', () => {
    const c = normalizeComparison(COMPARISON).changes;
    expect(changeText(c[0])).toBe('−0.1 (−12.5%)');
    expect(arrow(c[0])).toBe('▼');
    expect(direction(c[0])).toBe('regressed');
    expect(direction(c[1])).toBe('unchanged');
    expect(arrow(c[1])).toBe('=');
    expect(changeText({ ...c[0], change: 0.031, relative_change: 0.0421 })).toBe('+0.031 (+4.21%)');
    expect(changeText({ ...c[0], change: null })).toBe('–');
    expect(pText(0.0124)).toBe('p = 0.012');
    expect(pText(0.00001)).toBe('p < 0.001');
    expect(pText(null)).toBe('no test');
  });

  it('offers enforce records of the same policy and store, never the record itself', () => {
    const a = record();
    const b = record();
    const other = record({ summary: { ...record().summary, policy_title: 'Other' } });
    const tel = record({ kind: 'telemetry' });
    const elsewhere = record({ store: 'x/.venturalitica' });
    expect(compareCandidates([a, b, other, tel, elsewhere], a).map(r => r.id)).toEqual([b.id]);
  });
});

describe('over time: the controller', () => {
  it('loads the history once when a record opens, and the comparison on request', async () => {
    const rec = record();
    const calls: { endPoint: string; query?: any }[] = [];
    let answer: (v: unknown) => void = () => undefined;
    const request = async (endPoint: string, _init?: RequestInit, query?: any) => {
      calls.push({ endPoint, query });
      if (endPoint === 'evidence') {
        return { records: [rec], total: 1, offset: 0, limit: 200, stores: [], version: 'v' };
      }
      if (endPoint.endsWith('/history')) {
        return { record_id: rec.id, controls: { c: [point('x', 1)] } };
      }
      if (endPoint.endsWith('/compare')) {
        return new Promise(resolve => (answer = resolve));
      }
      return detail(rec);
    };
    const c = new EvidenceController(request);
    await c.refresh();
    c.toggleOpen(rec);
    await Promise.resolve();
    await new Promise(r => setTimeout(r, 0));
    expect(c.history(rec.id)?.state).toBe('done');
    expect(c.history(rec.id)?.value?.controls.c).toHaveLength(1);
    c.toggleOpen(rec);
    c.toggleOpen(rec);
    expect(calls.filter(x => x.endPoint.endsWith('/history'))).toHaveLength(1);
    expect(calls.find(x => x.endPoint.endsWith('/history'))!.query).toEqual({ store: rec.store });

    const first = c.compare(rec, ' previous ');
    expect(c.comparison(rec.id)).toMatchObject({ state: 'loading', baseline: 'previous' });
    answer(COMPARISON);
    await first;
    expect(c.comparison(rec.id)?.value?.worst_level).toBe('critical');
    const call = calls.find(x => x.endPoint.endsWith('/compare'))!;
    expect(call.endPoint).toBe(`evidence/${encodeURIComponent(rec.id)}/compare`);
    expect(call.query).toEqual({ baseline: 'previous', store: rec.store });
    c.closeCompare(rec.id);
    expect(c.comparison(rec.id)).toBeUndefined();
    c.dispose();
  });

  it("reloads the open record's trend when new evidence arrives", async () => {
    const rec = record();
    let version = 'v1';
    let historyCalls = 0;
    const request = async (endPoint: string) => {
      if (endPoint === 'evidence') {
        return { records: [rec], total: 1, offset: 0, limit: 200, stores: [], version };
      }
      if (endPoint.endsWith('/history')) {
        historyCalls += 1;
        return { record_id: rec.id, controls: { c: Array(historyCalls + 1).fill(point('x', 1)) } };
      }
      return detail(rec);
    };
    const c = new EvidenceController(request);
    await c.refresh();
    c.toggleOpen(rec);
    await new Promise(r => setTimeout(r, 0));
    expect(c.history(rec.id)?.value?.controls.c).toHaveLength(2);
    await c.refresh(); // same version: nothing reloaded
    expect(historyCalls).toBe(1);
    version = 'v2';
    await c.refresh();
    await new Promise(r => setTimeout(r, 0));
    expect(historyCalls).toBe(2);
    expect(c.history(rec.id)?.value?.controls.c).toHaveLength(3);
    c.dispose();
  });

  it('keeps the newest comparison when an older answer arrives late', async () => {
    const rec = record();
    const pending: { [baseline: string]: (v: unknown) => void } = {};
    const request = (_e: string, _i?: RequestInit, query?: any) =>
      new Promise(resolve => (pending[query.baseline] = resolve));
    const c = new EvidenceController(request);
    const slow = c.compare(rec, 'production');
    const fast = c.compare(rec, 'previous');
    pending.previous({ ...COMPARISON, worst_level: 'none' });
    await fast;
    pending.production(COMPARISON);
    await slow;
    expect(c.comparison(rec.id)).toMatchObject({ baseline: 'previous', state: 'done' });
    expect(c.comparison(rec.id)?.value?.worst_level).toBe('none');
    c.dispose();
  });

  it('shows the server error of a compare, and asks for a baseline when none is given', async () => {
    const rec = record();
    const request = async () => {
      throw {
        body: {
          code: 'BASELINE_NOT_FOUND',
          message: 'no evidence record or tag "prod"',
          hint: 'tag one with vl.evidence.tag(id, "prod")'
        }
      };
    };
    const c = new EvidenceController(request);
    await c.compare(rec, 'prod');
    expect(c.comparison(rec.id)?.error?.code).toBe('BASELINE_NOT_FOUND');
    await c.compare(rec, '  ');
    expect(c.comparison(rec.id)?.error?.code).toBe('NO_BASELINE');
    c.dispose();
  });

  it('exports through POST export and says what was written', async () => {
    const bodies: any[] = [];
    const { n, said } = notifier();
    const request = async (endPoint: string, init?: RequestInit) => {
      expect(endPoint).toBe('export');
      expect(init?.method).toBe('POST');
      bodies.push(JSON.parse(String(init?.body)));
      if (bodies.length === 2) {
        throw { body: { code: 'STORE_REQUIRED', message: '2 evidence stores', hint: 'a, b' } };
      }
      return {
        format: 'bundle',
        out: 'notebooks/audit-export',
        files: ['notebooks/audit-export/manifest.json', 'notebooks/audit-export/records.jsonl'],
        records: 3,
        selection: {}
      };
    };
    const c = new EvidenceController(request, { notifier: n });
    await c.exportAudit({ format: 'bundle', out: '  ' });
    expect(bodies[0]).toEqual({ format: 'bundle' });
    expect(c.exportState).toMatchObject({
      state: 'done',
      records: 3,
      out: 'notebooks/audit-export'
    });
    expect(said).toEqual([
      'success: Exported 3 records as bundle: 2 files in notebooks/audit-export'
    ]);
    await c.exportAudit({ format: 'oscal', store: 'a/.venturalitica' });
    expect(bodies[1]).toEqual({ format: 'oscal', store: 'a/.venturalitica' });
    expect(c.exportState?.error?.code).toBe('STORE_REQUIRED');
    expect(said[1]).toBe('error: Export failed: 2 evidence stores (a, b)');
    c.dispose();
  });
});

describe('over time: the views', () => {
  it('draws a sparkline with its values in text, and nothing for one run', () => {
    const pts = [point('a', 0.9), point('b', 0.7, 'fail')];
    const { node, unmount } = render(<Sparkline points={pts} current="b" />);
    expect(node.querySelector('svg')!.getAttribute('aria-hidden')).toBe('true');
    expect(node.querySelectorAll('.vl-Spark-dot')).toHaveLength(2);
    expect(node.querySelector('rect.vl-Spark-fail')).not.toBeNull();
    expect(node.querySelector('circle.vl-Spark-pass')).not.toBeNull();
    expect(node.querySelector('.vl-Spark-mark')).not.toBeNull();
    expect(node.querySelector('.vl-Spark-threshold')).not.toBeNull();
    expect(node.querySelector('.vl-VisuallyHidden')!.textContent).toBe(
      'trend: 2 runs, oldest first: 0.9 pass, 0.7 fail; threshold 0.8; this record 0.7 fail'
    );
    unmount();
    const one = render(<Sparkline points={[point('a', 1)]} current="a" />);
    expect(one.node.innerHTML).toBe('');
    one.unmount();
  });

  it('shows both runs of each control, the arrow, p-value, level, and the policy diff', () => {
    const cmp = normalizeComparison(COMPARISON);
    const { node, unmount } = render(<ComparisonView cmp={cmp} />);
    const first = node.querySelector('[data-control="approvals-by-age"]')!;
    expect(first.className).toContain('vl-Alert-critical');
    expect(first.querySelector('.vl-Change-values')!.textContent).toBe('then 0.8 now 0.7');
    expect(first.querySelector('.vl-Change-delta')!.textContent).toBe(
      '▼ −0.1 (−12.5%) regressed (higher is better)'
    );
    expect(first.querySelector('.vl-Change-test')!.textContent).toBe(
      'p = 0.012, significant · critical'
    );
    expect(node.querySelector('[data-control="completeness"] .vl-Change-test')!.textContent).toBe(
      'no test · no alert'
    );
    expect(node.querySelector('.vl-PolicyDiff')!.textContent).toContain('policy changed');
    expect(node.querySelector('.vl-PolicyChange')!.textContent).toBe(
      'approvals-by-agedisparate_impact gt 0.75 → disparate_impact gt 0.8'
    );
    expect(node.querySelector('.vl-Comparison-added')!.textContent).toBe('added: new-control');
    expect(node.querySelector('.vl-Comparison-removed')!.textContent).toBe('removed: old-control');
    expect(node.querySelector('.vl-Comparison-head')!.textContent).toContain('worst: critical');
    expect(node.querySelector('.vl-PolicyDiff-versions')!.textContent).toBe(
      'German credit v1.0 aaaaaaaa → German credit v1.1 bbbbbbbb'
    );
    unmount();
    const same = render(
      <ComparisonView
        cmp={{ ...cmp, policy_changed: false, baseline: { ...cmp.baseline, label: 'then' } }}
      />
    );
    expect(same.node.querySelector('.vl-PolicyDiff')).toBeNull();
    // a baseline picked by id is named by its date, never by the raw id
    expect(same.node.querySelector('.vl-Comparison-head b')!.textContent).toBe('the record');
    same.unmount();
    const improved = render(
      <ChangeItem change={{ ...cmp.changes[0], change: 0.1, degradation: -0.1, level: 'none' }} />
    );
    expect(improved.node.querySelector('.vl-Arrow-improved')!.textContent).toBe('▲');
    improved.unmount();
  });

  it('asks the previous run, a tag or a picked record', () => {
    const rec = record();
    const other = record({ created: '2026-11-21T08:05:00Z' });
    const asked: string[] = [];
    const { node, unmount } = render(
      <Compare candidates={[other]} onCompare={b => asked.push(b)} onClose={() => undefined} />
    );
    const form = node.querySelector('form')!;
    const select = node.querySelector('select')!;
    act(() => form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true })));
    expect(asked).toEqual(['previous']);
    expect([...select.options].map(o => o.value)).toEqual(['previous', 'tag', other.id]);
    const change = (el: HTMLSelectElement | HTMLInputElement, value: string) => {
      const proto = Object.getPrototypeOf(el);
      Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
      el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));
    };
    act(() => change(select, 'tag'));
    expect(node.querySelector<HTMLButtonElement>('button[type="submit"]')!.disabled).toBe(true);
    act(() => change(node.querySelector('input')!, 'production'));
    act(() => form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true })));
    act(() => change(select, other.id));
    act(() => form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true })));
    expect(asked).toEqual(['previous', 'production', other.id]);
    unmount();
    void rec;
  });

  it('puts a sparkline under each control of the detail and the compare form below', () => {
    const rec = record();
    const d = detail(rec);
    const pts = [point('old', 0.9), point(rec.id, 0.79, 'fail')];
    const { node, unmount } = render(
      <Detail
        rec={d}
        listed={rec}
        actions={{ openCell: jest.fn() }}
        overTime={{
          history: {
            state: 'done',
            value: { record_id: rec.id, store: '', policy: '', controls: { completeness: pts } },
            error: null
          },
          candidates: [],
          compare: jest.fn(),
          closeCompare: jest.fn()
        }}
      />
    );
    expect(node.querySelector('[data-control="completeness"] .vl-Spark')).not.toBeNull();
    expect(
      node.querySelector('[data-control="approvals-by-age-with-a-very-long-identifier"] .vl-Spark')
    ).toBeNull();
    expect(
      node.querySelector('.vl-Compare form[aria-label="Compare with another record"]')
    ).not.toBeNull();
    unmount();
  });

  it('exports from the panel form and lists the files written', async () => {
    const request = async () => ({
      format: 'annex-iv',
      out: 'audit-export',
      files: ['audit-export/annex-iv.md'],
      records: 1,
      selection: {}
    });
    const c = new EvidenceController(request);
    const closed: string[] = [];
    function Live(): JSX.Element {
      useController(c);
      return <ExportBar controller={c} onClose={() => closed.push('x')} />;
    }
    const { node, unmount } = render(<Live />);
    const select = node.querySelector('select')!;
    expect([...select.options].map(o => o.value)).toEqual([
      'bundle',
      'annex-iv',
      'oscal',
      'model-card'
    ]);
    Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value')!.set!.call(
      select,
      'annex-iv'
    );
    act(() => select.dispatchEvent(new Event('change', { bubbles: true })));
    await act(async () => {
      node
        .querySelector('form')!
        .dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
      await new Promise(r => setTimeout(r, 0));
    });
    expect(node.querySelector('.vl-Export-done div')!.textContent).toBe(
      '1 record exported as annex-iv to'
    );
    expect(node.querySelector('.vl-Export-done code')!.textContent).toBe('audit-export/');
    expect(node.querySelector('.vl-Export-files')!.textContent).toBe('annex-iv.md');
    act(() => node.querySelector<HTMLButtonElement>('button[type="button"]')!.click());
    expect(closed).toEqual(['x']);
    expect(c.exportState).toBeNull();
    unmount();
    c.dispose();
  });
});
