import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { EvidenceController } from './controller';
import { IRecordActions } from './components/Detail';
import { complianceIcon } from './icon';
import { CompliancePanel } from './panel';
import { ensureQuickstart } from './quickstart';
import { requestAPI } from './request';
import { VerdictItem } from './statusbar';

const PLUGIN_ID = 'vl-jupyter:plugin';
const CATEGORY = 'Compliance';

/** The command ids, for the palette, the menus and the tests. A sync command per
 * tracker the server registered is added once the list arrives: syncCommand(name). */
export const COMMANDS = {
  open: 'vl-jupyter:open',
  refresh: 'vl-jupyter:refresh',
  verify: 'vl-jupyter:verify',
  export: 'vl-jupyter:export',
  reveal: 'vl-jupyter:reveal',
  quickstart: 'vl-jupyter:quickstart'
};

/** ``vl-jupyter:sync-mlflow``: the command that syncs to tracker ``name``. */
export function syncCommand(name: string): string {
  return `vl-jupyter:sync-${name}`;
}

/** Where "Export for audit" posts (vl_jupyter/server/_export_handler.py). */
export const EXPORT_ENDPOINT = 'export';

/** Select the cell run as ``In [count]`` of ``panel``'s notebook and scroll to it. */
async function selectCell(panel: NotebookPanel, count: number | null): Promise<void> {
  await panel.context.ready;
  await panel.revealed;
  if (count === null) {
    return;
  }
  const notebook = panel.content;
  const index = notebook.widgets.findIndex(
    cell => cell.model.type === 'code' && (cell.model as any).executionCount === count
  );
  if (index < 0) {
    Notification.info(`No cell of ${panel.context.path} ran as [${count}] in this session.`, {
      autoClose: 4000
    });
    return;
  }
  notebook.activeCellIndex = index;
  await notebook.scrollToCell(notebook.widgets[index], 'center');
}

/**
 * The "Compliance" sidebar: evidence of every notebook under the server's root, and
 * one-click sync to each tracker the server registered (MLflow, W&B, ...). Works in
 * JupyterLab 4 and Notebook 7 (right area).
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Compliance sidebar: evidence, traffic lights, sync to the registered trackers.',
  autoStart: true,
  optional: [ISettingRegistry, ICommandPalette, INotebookTracker, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    statusBar: IStatusBar | null
  ) => {
    const controller = new EvidenceController(requestAPI, {
      isLocal: rec => {
        const path = notebooks?.currentWidget?.context.path;
        const from = rec.summary.notebook;
        return (
          !!path &&
          typeof from === 'string' &&
          (from === path || path.endsWith('/' + from) || from.endsWith('/' + path))
        );
      },
      notifier: {
        success: message => Notification.success(message, { autoClose: 5000 }),
        error: message => Notification.error(message, { autoClose: false }),
        info: message => Notification.info(message, { autoClose: 5000 })
      }
    });
    const actions: IRecordActions = {
      openCell: (path, count) => {
        void app.commands
          .execute('docmanager:open', { path })
          .then(widget => {
            if (widget instanceof NotebookPanel) {
              return selectCell(widget, count);
            }
          })
          .catch(reason => {
            Notification.error(`Could not open ${path}: ${reason}`, { autoClose: 6000 });
          });
      }
    };
    const panel = new CompliancePanel(controller, actions);
    panel.title.icon = complianceIcon;
    app.shell.add(panel, 'right', { rank: 900 });

    const { commands } = app;
    commands.addCommand(COMMANDS.open, {
      label: 'Compliance: Open Panel',
      caption: 'Show the evidence of every notebook under this server',
      execute: () => app.shell.activateById(panel.id)
    });
    commands.addCommand(COMMANDS.refresh, {
      label: 'Compliance: Refresh',
      execute: () => controller.refreshSoon()
    });
    // one "Sync to <label>" per tracker the server registered (same ids and labels as
    // the two shipped trackers always had: vl-jupyter:sync-mlflow, "Sync to MLflow")
    controller.trackersLoaded.connect((_, trackers) => {
      for (const tracker of trackers) {
        const id = syncCommand(tracker.name);
        if (commands.hasCommand(id)) {
          continue;
        }
        commands.addCommand(id, {
          label: `Compliance: Sync to ${tracker.label}`,
          caption: `Log the selected records, or every record not yet there, to ${tracker.label}`,
          isEnabled: () => controller.state.sync?.state !== 'running',
          execute: () => controller.sync(tracker.name)
        });
        palette?.addItem({ command: id, category: CATEGORY });
      }
    });
    commands.addCommand(COMMANDS.verify, {
      label: 'Compliance: Verify Evidence',
      caption: 'Re-hash every evidence store and check its chain',
      execute: async () => {
        app.shell.activateById(panel.id);
        await controller.verifyAll();
      }
    });
    commands.addCommand(COMMANDS.export, {
      label: 'Compliance: Export for Audit',
      caption: 'Write the evidence for an auditor: bundle, Annex IV, OSCAL or model card',
      isEnabled: () => controller.exportState?.state !== 'running',
      execute: () => {
        app.shell.activateById(panel.id);
        controller.exportOpen = true;
      }
    });
    commands.addCommand(COMMANDS.reveal, {
      label: 'Compliance: Show Record',
      execute: args => {
        app.shell.activateById(panel.id);
        const id = typeof args.id === 'string' ? args.id : '';
        if (id && !controller.reveal(id)) {
          controller.refreshSoon(); // revealed once the refresh lists it
        }
      }
    });
    commands.addCommand(COMMANDS.quickstart, {
      label: 'Compliance: Open Quickstart Notebook',
      caption: 'Open vl_quickstart.ipynb (written to the server root the first time)',
      execute: async () => {
        try {
          const path = await ensureQuickstart(app.serviceManager.contents);
          await app.commands.execute('docmanager:open', { path });
        } catch (reason) {
          Notification.error(`Could not open the quickstart: ${reason}`, { autoClose: 6000 });
        }
      }
    });
    commands.addKeyBinding({
      command: COMMANDS.open,
      keys: ['Accel Alt V'],
      selector: 'body'
    });
    if (palette) {
      for (const command of Object.values(COMMANDS)) {
        if (command !== COMMANDS.reveal) {
          palette.addItem({ command, category: CATEGORY });
        }
      }
    }

    if (statusBar) {
      const path = () => notebooks?.currentWidget?.context.path ?? null;
      const item = new VerdictItem(controller, path, () => app.shell.activateById(panel.id));
      statusBar.registerStatusItem('vl-jupyter:verdict', {
        item,
        align: 'left',
        rank: 50,
        isActive: () => !!notebooks?.currentWidget
      });
      notebooks?.currentChanged.connect(() => item.update());
    }

    // From a cell's report to its record: the report's evidence id carries
    // data-vl-record (plain HTML, no script, so it survives export).
    document.addEventListener('click', event => {
      const target = event.target as Element | null;
      const id = target?.closest?.('[data-vl-record]')?.getAttribute('data-vl-record');
      if (id && target?.closest('.jp-OutputArea-output')) {
        void commands.execute(COMMANDS.reveal, { id });
      }
    });

    // A cell that finished in this tab may have written evidence. Other tabs, nbclient
    // and the CLI are caught by the controller's poll.
    NotebookActions.executed.connect(() => controller.refreshSoon());

    const apply = (settings: ISettingRegistry.ISettings) => {
      const c = settings.composite as { [key: string]: any };
      controller.editorSettings = c; // each sync picks the keys its trackers take
      controller.pollInterval = Number(c.refreshInterval) || 5;
    };
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error('vl-jupyter: settings could not be loaded', reason);
        })
        .then(() => controller.start());
    } else {
      controller.start();
    }
  }
};

export default plugin;
