import * as React from 'react';

/** Colour is never the only signal: each traffic light also carries an icon (from
 * fonts Debian's Chromium has: no glyph renders as an empty box) and its status word
 * as the accessible name and tooltip, as the inline report does. */
export const STATUS_ICON: Record<string, string> = {
  pass: '✔',
  warn: '▲',
  fail: '✖',
  error: '⊘',
  skipped: '–',
  info: 'i'
};

export function Light({ status }: { status: string }): JSX.Element {
  const known = status in STATUS_ICON ? status : 'info';
  return (
    <span
      className={`vl-Light vl-Light-${known}`}
      role="img"
      aria-label={`status ${known}`}
      title={known}
    >
      {STATUS_ICON[known]}
    </span>
  );
}
