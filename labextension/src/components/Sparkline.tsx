import * as React from 'react';

import { IHistoryPoint, sparkGeometry, sparkText } from '../overtime';

const W = 96;
const H = 22;

/**
 * One control over its policy's recent runs: the values as a line with a dot per run
 * (coloured and shaped by status), the threshold as a dashed line, the record on
 * screen ringed. The picture is ``aria-hidden``; the same facts are the element's
 * text for screen readers (and its tooltip), so nothing is in the drawing alone.
 */
export function Sparkline({
  points,
  current
}: {
  points: IHistoryPoint[];
  current: string;
}): JSX.Element | null {
  if (points.length < 2) {
    return null; // one run is not a trend; the value is shown next to it already
  }
  const g = sparkGeometry(points, current, W, H);
  const text = sparkText(points, current);
  return (
    <div className="vl-Spark" title={text}>
      <svg
        className="vl-Spark-svg"
        width={W}
        height={H}
        viewBox={`0 0 ${W} ${H}`}
        aria-hidden="true"
        focusable="false"
      >
        {g.thresholdY !== null && (
          <line className="vl-Spark-threshold" x1={0} x2={W} y1={g.thresholdY} y2={g.thresholdY} />
        )}
        {g.segments.map((s, i) => (
          <polyline key={i} className="vl-Spark-line" points={s} />
        ))}
        {g.dots.map((d, i) =>
          d.status === 'pass' ? (
            <circle key={i} className="vl-Spark-dot vl-Spark-pass" cx={d.x} cy={d.y} r={1.6} />
          ) : (
            <rect
              key={i}
              className={`vl-Spark-dot vl-Spark-${d.status}`}
              x={d.x - 1.8}
              y={d.y - 1.8}
              width={3.6}
              height={3.6}
            />
          )
        )}
        {g.mark && <circle className="vl-Spark-mark" cx={g.mark.x} cy={g.mark.y} r={3.4} />}
      </svg>
      <span className="vl-Spark-runs" aria-hidden="true">
        {points.length} runs
      </span>
      <span className="vl-VisuallyHidden">trend: {text}</span>
    </div>
  );
}
