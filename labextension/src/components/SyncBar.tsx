import * as React from 'react';

import { EvidenceController } from '../controller';
import { TARGET_LABELS, Target, pending } from '../model';

const TARGETS: Target[] = ['mlflow', 'wandb'];

/** The sync buttons: the selection, else every pending record, to one tracker. */
export function SyncBar({ controller }: { controller: EvidenceController }): JSX.Element {
  const { state } = controller;
  const selected = state.selected.size;
  const running = state.sync?.state === 'running';
  return (
    <div className="vl-Compliance-actions" role="toolbar" aria-label="Sync">
      {TARGETS.map(t => {
        const waiting = pending(state.records, t).length;
        return (
          <button
            key={t}
            className="vl-Button"
            data-target={t}
            disabled={running || (!selected && waiting === 0 && !!state.version)}
            onClick={() => void controller.sync(t)}
            title={
              selected
                ? `Log the ${selected} selected records to ${TARGET_LABELS[t]}`
                : `Log every record not yet in ${TARGET_LABELS[t]} (${waiting} loaded)`
            }
          >
            {selected
              ? `Sync ${selected} selected to ${TARGET_LABELS[t]}`
              : `Sync to ${TARGET_LABELS[t]}`}
          </button>
        );
      })}
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
