import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import * as React from 'react';

import { EvidenceController } from './controller';
import { IRecordActions } from './components/Detail';
import { ExportBar } from './components/Export';
import { Filters } from './components/Filters';
import { Header } from './components/Header';
import { RecordList } from './components/RecordList';
import { SyncBar } from './components/SyncBar';
import { SyncStatus, VerifyStatus } from './components/SyncStatus';
import { errorText, isFiltering } from './model';

/** Re-render whenever the controller says something shown changed. */
export function useController(controller: EvidenceController): void {
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const onChange = () => setTick(t => t + 1);
    controller.changed.connect(onChange);
    return () => {
      controller.changed.disconnect(onChange);
    };
  }, [controller]);
}

/** The whole sidebar: header, sync buttons, filters, messages, the record list. */
export function PanelView({
  controller,
  actions
}: {
  controller: EvidenceController;
  actions: IRecordActions;
}): JSX.Element {
  useController(controller);
  const { state } = controller;
  const records = controller.visible;
  return (
    <div className="vl-Compliance-body">
      <Header controller={controller} />
      <SyncBar controller={controller} />
      {controller.exportOpen && (
        <ExportBar controller={controller} onClose={() => (controller.exportOpen = false)} />
      )}
      <Filters controller={controller} />
      <SyncStatus controller={controller} />
      <VerifyStatus controller={controller} />
      {state.error && (
        <div className="vl-Message vl-Message-error" role="alert">
          {errorText(state.error)}
        </div>
      )}
      {!state.loading && !state.records.length && !state.error && (
        <div className="vl-Empty">
          No evidence yet. Run a cell that calls <code>vl.enforce()</code> or uses{' '}
          <code>%%vl_monitor</code>; its record appears here.
        </div>
      )}
      {state.records.length > 0 && !records.length && isFiltering(controller.filter) && (
        <div className="vl-Empty">No loaded record matches the filters.</div>
      )}
      <RecordList controller={controller} records={records} actions={actions} />
    </div>
  );
}

/** The sidebar widget: a ReactWidget around the controller (which owns the poll). */
export class CompliancePanel extends ReactWidget {
  constructor(
    readonly controller: EvidenceController,
    private readonly actions: IRecordActions
  ) {
    super();
    this.id = 'vl-jupyter-compliance';
    this.addClass('vl-Compliance');
    this.title.caption = 'Compliance evidence';
    // focusable from script only: activation moves the keyboard focus into the panel
    this.node.tabIndex = -1;
  }

  /** Opening the sidebar (a click on its tab, the command) moves the keyboard focus into
   * it: in JupyterLab's right area the panel comes before its tab bar in the page, so Tab
   * from the sidebar tab would skip the panel and leave for the status bar. */
  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (!this.isVisible || this.node.contains(document.activeElement)) {
      return;
    }
    const first = this.node.querySelector<HTMLElement>(
      'button:not([disabled]), input, [tabindex="0"], a[href]'
    );
    (first ?? this.node).focus();
  }

  /** Enter/Space on the sidebar tab only shows the panel (no activation, unlike a
   * click): activate it then, so the focus follows, but only when the focus is on this
   * panel's own tab (a restored layout does not steal the focus). */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    const focused = document.activeElement;
    if (focused && focused.closest(`[data-id="${this.id}"]`)) {
      this.activate(); // posted: runs once the sidebar itself is visible
    }
  }

  dispose(): void {
    this.controller.dispose();
    super.dispose();
  }

  protected render(): JSX.Element {
    return <PanelView controller={this.controller} actions={this.actions} />;
  }
}
