import * as React from 'react';

import { EvidenceController } from '../controller';
import { IRun, ITracker, errorText, hasMode, mlflowHint, trackerLabel } from '../model';

/** One run: a link when it has a web address; otherwise where it is and, for the
 * default sqlite store, the command that serves it (a sqlite URI is not a link). */
function RunLine({
  run,
  trackers
}: {
  run: IRun;
  trackers: readonly ITracker[] | null;
}): JSX.Element {
  const targetName = (name: string) => trackerLabel(trackers, name);
  const url = typeof run.url === 'string' ? run.url : null;
  const id = typeof run.run_id === 'string' ? run.run_id : '';
  if (url && /^https?:\/\//.test(url)) {
    return (
      <a className="vl-RunLink" href={url} target="_blank" rel="noreferrer">
        Open {targetName(run.target)} run {id.slice(0, 8)}
      </a>
    );
  }
  const serve = mlflowHint(url);
  return (
    <span className="vl-Run">
      {targetName(run.target)} run <code title={id}>{id.slice(0, 8)}</code>
      {serve ? (
        <>
          {' '}
          is in a local store. To browse it, run in a terminal:{' '}
          <code className="vl-Command">{serve}</code> and open http://127.0.0.1:5000
        </>
      ) : run.location || url ? (
        <>: {run.location || url}</>
      ) : null}
    </span>
  );
}

/** Progress and outcome of the last sync. */
export function SyncStatus({ controller }: { controller: EvidenceController }): JSX.Element | null {
  const sync = controller.state.sync;
  if (!sync) {
    return null;
  }
  const trackers = controller.trackers;
  const tracker = trackers?.find(t => t.name === sync.target);
  const name = trackerLabel(trackers, sync.target);
  const kind = sync.state === 'error' ? 'error' : sync.state === 'done' ? 'success' : 'info';
  return (
    <div
      className={`vl-Message vl-Message-${kind}`}
      role={sync.state === 'error' ? 'alert' : 'status'}
      aria-live="polite"
    >
      <div className="vl-Message-body">
        {sync.state === 'running' && (
          <div>
            Syncing to {name}…{' '}
            <progress
              className="vl-Progress"
              value={sync.total ? sync.done : undefined}
              max={sync.total || undefined}
              aria-label={
                sync.total ? `sync progress ${sync.done} of ${sync.total}` : 'sync starting'
              }
            />{' '}
            {sync.total ? `${sync.done}/${sync.total}` : sync.message}
          </div>
        )}
        {sync.state === 'done' && (
          <div className="vl-Sync-done">
            Synced {sync.synced} record{sync.synced === 1 ? '' : 's'} to {name}
            {sync.skipped ? ` (${sync.skipped} already there)` : ''}.
            {sync.runs.map(run => (
              <div key={run.run_id}>
                <RunLine run={run} trackers={trackers} />
              </div>
            ))}
            {sync.notes.map(note => (
              <div key={note} className="vl-Note">
                {note}
              </div>
            ))}
          </div>
        )}
        {sync.state === 'error' && sync.error && (
          <div>
            Sync to {name} failed: {errorText(sync.error)}
            {sync.error.pending && sync.error.pending.length ? (
              <div className="vl-Note">
                {sync.error.pending.length === 1
                  ? '1 record stays'
                  : `${sync.error.pending.length} records stay`}{' '}
                pending; nothing is lost.
                {hasMode(tracker) && (
                  <>
                    {' '}
                    Without {name} credentials or network, set the {name} mode to “offline” in
                    Settings: runs are written locally for a later <code>{sync.target} sync</code>.
                  </>
                )}
              </div>
            ) : null}
          </div>
        )}
      </div>
      {sync.state !== 'running' && (
        <button
          className="vl-Button vl-Button-quiet vl-Dismiss"
          onClick={() => controller.dismissSync()}
          aria-label="Dismiss"
          title="Dismiss"
        >
          ✕
        </button>
      )}
    </div>
  );
}

/** Outcome of "verify". */
export function VerifyStatus({
  controller
}: {
  controller: EvidenceController;
}): JSX.Element | null {
  const v = controller.verify;
  if (!v) {
    return null;
  }
  const kind = v.state === 'running' ? 'info' : v.ok ? 'success' : 'error';
  return (
    <div
      className={`vl-Message vl-Message-${kind} vl-Verify`}
      role={kind === 'error' ? 'alert' : 'status'}
    >
      <div className="vl-Message-body">{v.message}</div>
      {v.state !== 'running' && (
        <button
          className="vl-Button vl-Button-quiet vl-Dismiss"
          onClick={() => controller.dismissVerify()}
          aria-label="Dismiss"
          title="Dismiss"
        >
          ✕
        </button>
      )}
    </div>
  );
}
