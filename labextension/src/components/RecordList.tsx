import * as React from 'react';

import { EvidenceController, MAX_RECORDS } from '../controller';
import { IEvidenceRecord } from '../model';
import { IRecordActions } from './Detail';
import { RecordRow } from './RecordRow';

/** Height assumed for a row not measured yet (a closed record is about this tall). */
export const ESTIMATE_PX = 64;
/** Rows rendered beyond each edge of the viewport, in pixels. */
export const OVERSCAN_PX = 600;

/**
 * Which rows to render for a viewport: the first and last index and the space
 * above and below them. Rows measured so far count with their real height, the others
 * with ``estimate``. Pure, so jest checks it on 10,000 rows.
 */
export function windowOf(
  ids: string[],
  heights: ReadonlyMap<string, number>,
  scrollTop: number,
  viewport: number,
  estimate = ESTIMATE_PX,
  overscan = OVERSCAN_PX
): { first: number; last: number; before: number; after: number } {
  const top = scrollTop - overscan;
  const bottom = scrollTop + viewport + overscan;
  let y = 0;
  let first = -1;
  let last = -1;
  let before = 0;
  for (let i = 0; i < ids.length; i++) {
    const h = heights.get(ids[i]) ?? estimate;
    if (first < 0 && y + h > top) {
      first = i;
      before = y;
    }
    if (first >= 0 && y < bottom) {
      last = i;
    }
    y += h;
  }
  if (first < 0) {
    return { first: 0, last: -1, before: 0, after: 0 };
  }
  let rendered = 0;
  for (let i = first; i <= last; i++) {
    rendered += heights.get(ids[i]) ?? estimate;
  }
  return { first, last, before, after: Math.max(0, y - before - rendered) };
}

/** The records, virtualised: only the rows near the viewport are in the DOM, so
 * 10,000 records scroll as smoothly as 10. Reaching the end loads the next page. */
export function RecordList({
  controller,
  records,
  actions
}: {
  controller: EvidenceController;
  records: IEvidenceRecord[];
  actions: IRecordActions;
}): JSX.Element {
  const scroller = React.useRef<HTMLDivElement>(null);
  const heights = React.useRef(new Map<string, number>());
  const [scrollTop, setScrollTop] = React.useState(0);
  const [viewport, setViewport] = React.useState(0);
  const [, setMeasured] = React.useState(0);

  React.useLayoutEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const update = () => setViewport(node.clientHeight);
    update();
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(update);
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const ids = React.useMemo(() => records.map(r => r.id), [records]);
  // a viewport not laid out yet (hidden, jsdom) renders one screen's worth
  const w = windowOf(ids, heights.current, scrollTop, viewport || 800);

  // measure what was rendered; a changed height re-renders once with real sizes
  React.useLayoutEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    let changed = false;
    node.querySelectorAll<HTMLElement>('li.vl-Record').forEach(li => {
      const id = li.dataset.recordId;
      const h = li.offsetHeight;
      if (id && h && heights.current.get(id) !== h) {
        heights.current.set(id, h);
        changed = true;
      }
    });
    if (changed) {
      setMeasured(n => n + 1);
    }
  });

  // a record revealed from a cell's report: scroll it into view
  React.useEffect(() => {
    const node = scroller.current;
    const id = controller.takeScrollTarget();
    if (!node || !id) {
      return;
    }
    let y = 0;
    for (const other of ids) {
      if (other === id) {
        node.scrollTop = y;
        setScrollTop(y);
        return;
      }
      y += heights.current.get(other) ?? ESTIMATE_PX;
    }
  });

  const { state } = controller;
  const more = state.records.length < Math.min(state.total, MAX_RECORDS);
  React.useEffect(() => {
    if (more && !controller.filter.text && w.last >= records.length - 5) {
      void controller.loadMore();
    }
  }, [more, w.last, records.length]);

  return (
    <div
      className="vl-Compliance-list"
      ref={scroller}
      onScroll={e => setScrollTop(e.currentTarget.scrollTop)}
    >
      <ul
        className="vl-Records"
        aria-label="evidence records"
        style={{ paddingTop: w.before, paddingBottom: w.after }}
      >
        {records.slice(w.first, w.last + 1).map((rec, i) => (
          <RecordRow
            key={rec.id}
            controller={controller}
            rec={rec}
            actions={actions}
            position={{ index: w.first + i + 1, size: records.length }}
          />
        ))}
      </ul>
      {state.total > state.records.length && (
        <div className="vl-More">
          {state.records.length >= MAX_RECORDS
            ? `Showing the newest ${state.records.length} of ${state.total}.`
            : `Showing the newest ${state.records.length} of ${state.total}; scroll for more.`}
        </div>
      )}
    </div>
  );
}
