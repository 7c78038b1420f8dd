import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { EvidenceController } from '../controller';

/** Title, how many records, refresh. */
export function Header({ controller }: { controller: EvidenceController }): JSX.Element {
  const { state } = controller;
  const shown = controller.visible.length;
  const count = state.loading
    ? 'loading…'
    : shown === state.records.length
      ? `${state.total} record${state.total === 1 ? '' : 's'}`
      : `${shown} of ${state.total}`;
  return (
    <header className="vl-Compliance-header">
      <h2 className="vl-Compliance-title">Compliance</h2>
      <span className="vl-Compliance-count" aria-live="polite">
        {count}
      </span>
      <button
        className="vl-Button vl-Button-quiet vl-Button-icon"
        onClick={() => controller.refresh().catch(() => undefined)}
        title="Refresh now"
        aria-label="Refresh evidence"
      >
        <refreshIcon.react tag="span" className="vl-Icon" />
      </button>
    </header>
  );
}
