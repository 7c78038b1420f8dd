import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { EvidenceController } from './controller';
import { lastVerdict } from './model';
import { useController } from './panel';
import { STATUS_ICON } from './components/status';

/** The status bar's "Compliance: ✖ FAIL 83%" for the notebook in front; a click opens
 * the sidebar. Empty when that notebook has no policy check yet. */
export function VerdictView({
  controller,
  path,
  onOpen
}: {
  controller: EvidenceController;
  path: () => string | null;
  onOpen: () => void;
}): JSX.Element | null {
  useController(controller);
  const rec = lastVerdict(controller.state.records, path());
  if (!rec) {
    return null;
  }
  const s = rec.summary;
  const score = typeof s.score === 'number' ? ` ${Math.round(s.score * 100)}%` : '';
  const policy = typeof s.policy_title === 'string' ? s.policy_title : 'policy';
  return (
    <button
      className={`vl-StatusItem vl-StatusItem-${rec.status}`}
      onClick={onOpen}
      title={`Last policy check of this notebook: ${policy}, ${rec.status}${score}. Click to open the Compliance panel.`}
    >
      Compliance:{' '}
      <span className={`vl-StatusItem-light vl-Light-${rec.status}`}>
        {STATUS_ICON[rec.status]}
      </span>{' '}
      {rec.status.toUpperCase()}
      {score}
    </button>
  );
}

export class VerdictItem extends ReactWidget {
  constructor(
    private readonly controller: EvidenceController,
    private readonly path: () => string | null,
    private readonly onOpen: () => void
  ) {
    super();
    this.addClass('vl-StatusBar');
  }

  protected render(): JSX.Element {
    return <VerdictView controller={this.controller} path={this.path} onOpen={this.onOpen} />;
  }
}
