import * as React from 'react';

import { EXPORT_FORMATS, EvidenceController } from '../controller';
import { errorText } from '../model';

/**
 * "Export for audit": pick a format (and the store, when the server root holds more
 * than one), write it on the server, then list the files written. Errors keep their
 * hint. Opened by the panel's button and by the command.
 */
export function ExportBar({
  controller,
  onClose
}: {
  controller: EvidenceController;
  onClose: () => void;
}): JSX.Element {
  const [format, setFormat] = React.useState(EXPORT_FORMATS[0].format);
  const stores = [...new Set(controller.state.records.map(r => r.store))].sort();
  const [store, setStore] = React.useState('');
  const ex = controller.exportState;
  const running = ex?.state === 'running';
  return (
    <section className="vl-Export" aria-label="Export for audit">
      <form
        className="vl-Export-form"
        onSubmit={event => {
          event.preventDefault();
          void controller.exportAudit({
            format,
            store: stores.length > 1 ? store || stores[0] : undefined
          });
        }}
      >
        <label className="vl-Export-label">
          <span>Format</span>
          <select
            className="vl-Select"
            value={format}
            onChange={event => setFormat(event.currentTarget.value)}
          >
            {EXPORT_FORMATS.map(f => (
              <option key={f.format} value={f.format}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
        {stores.length > 1 && (
          <label className="vl-Export-label">
            <span>Store</span>
            <select
              className="vl-Select"
              value={store || stores[0]}
              onChange={event => setStore(event.currentTarget.value)}
            >
              {stores.map(s => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        )}
        <div className="vl-Export-buttons">
          <button className="vl-Button" type="submit" disabled={running}>
            {running ? 'Exporting…' : 'Export'}
          </button>
          <button
            className="vl-Button vl-Button-quiet"
            type="button"
            onClick={() => {
              controller.dismissExport();
              onClose();
            }}
          >
            Close
          </button>
        </div>
      </form>
      {ex?.state === 'error' && ex.error && (
        <div className="vl-Message vl-Message-error" role="alert">
          {errorText(ex.error)}
        </div>
      )}
      {ex?.state === 'done' && (
        <div className="vl-Message vl-Export-done" role="status">
          <div>
            {ex.records ?? '?'} record{ex.records === 1 ? '' : 's'} exported as {ex.format} to
          </div>
          <code className="vl-Path" title={ex.out}>
            {ex.out}/
          </code>
          <ul className="vl-Export-files" aria-label="files written">
            {ex.files.map(f => (
              <li key={f} className="vl-Path" title={f}>
                {f.startsWith(ex.out + '/') ? f.slice(ex.out.length + 1) : f}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
