import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { NotebookActions } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { complianceIcon } from './icon';
import { CompliancePanel, ITrackerSettings } from './panel';

const PLUGIN_ID = 'vl-jupyter:plugin';

/**
 * The "Compliance" sidebar: evidence of every notebook under the server's root, and
 * one-click sync to MLflow / W&B. Works in JupyterLab 4 and Notebook 7 (right area).
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Compliance sidebar: evidence, traffic lights, sync to MLflow and W&B.',
  autoStart: true,
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null
  ) => {
    const panel = new CompliancePanel();
    panel.title.icon = complianceIcon;
    app.shell.add(panel, 'right', { rank: 900 });

    app.commands.addCommand('vl-jupyter:open', {
      label: 'Show Compliance Evidence',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand('vl-jupyter:refresh', {
      label: 'Refresh Compliance Evidence',
      execute: () => panel.refreshSoon()
    });

    // A cell that finished in this tab may have written evidence. Other tabs, nbclient
    // and the CLI are caught by the panel's poll.
    NotebookActions.executed.connect(() => panel.refreshSoon());

    const apply = (settings: ISettingRegistry.ISettings) => {
      const c = settings.composite as { [key: string]: any };
      const trackers: ITrackerSettings = {
        mlflow_tracking_uri: c.mlflowTrackingUri || undefined,
        mlflow_experiment: c.mlflowExperiment || undefined,
        wandb_project: c.wandbProject || undefined,
        wandb_entity: c.wandbEntity || undefined,
        wandb_mode: c.wandbMode || undefined
      };
      panel.trackerSettings = trackers;
      panel.pollInterval = Number(c.refreshInterval) || 5;
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
        .then(() => panel.start());
    } else {
      panel.start();
    }
  }
};

export default plugin;
