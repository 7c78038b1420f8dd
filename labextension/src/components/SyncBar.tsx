import * as React from 'react';

import { EvidenceController } from '../controller';
import { errorText, pending } from '../model';

/** The sync buttons, one per tracker the server registered (in its order): the
 * selection, else every pending record, to that tracker. */
export function SyncBar({ controller }: { controller: EvidenceController }): JSX.Element {
  const { state } = controller;
  const selected = state.selected.size;
  const running = state.sync?.state === 'running';
  const trackers = controller.trackers ?? [];
  const failed = !controller.trackers && controller.trackersError;
  return (
    <div className="vl-Compliance-actions" role="toolbar" aria-label="Sync">
      {trackers.map(({ name, label, configured }) => {
        const waiting = pending(state.records, name).length;
        // said only in the tooltip: where the runs go is the server's business
        const setup = configured ? '' : '; not set up on the server, so its defaults apply';
        return (
          <button
            key={name}
            className="vl-Button"
            data-target={name}
            disabled={running || (!selected && waiting === 0 && !!state.version)}
            onClick={() => void controller.sync(name)}
            title={
              (selected
                ? `Log the ${selected} selected records to ${label}`
                : `Log every record not yet in ${label} (${waiting} loaded)`) + setup
            }
          >
            {selected ? `Sync ${selected} selected to ${label}` : `Sync to ${label}`}
          </button>
        );
      })}
      {failed && (
        <span className="vl-Note vl-Trackers-error" role="status">
          No sync buttons: the server's tracker list could not be read (
          {errorText(controller.trackersError!)}). Retrying with each refresh.
        </span>
      )}
      <button
        className="vl-Button vl-Button-quiet vl-ExportButton"
        aria-expanded={controller.exportOpen}
        onClick={() => (controller.exportOpen = !controller.exportOpen)}
        title="Write the evidence for an auditor: bundle, Annex IV, OSCAL or model card"
      >
        Export for audit…
      </button>
      {selected > 0 && (
        <button className="vl-Button vl-Button-quiet" onClick={() => controller.clearSelection()}>
          Clear selection
        </button>
      )}
    </div>
  );
}
