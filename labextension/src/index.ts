/**
 * jupyter-repo's JupyterLab plugin: wires the commands, the notebook toolbar button, the
 * menus (declared in schema/plugin.json), the palette and the "Repository" sidebar.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  showErrorMessage,
  ToolbarButton
} from '@jupyterlab/apputils';
import { DocumentRegistry, DocumentWidget } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { fileUploadIcon, LabIcon } from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';

import { openLoginDialog } from './login';
import { openPublishDialog } from './publish';
import { RepositoryPanel } from './sidebar';
import { RepositoryState } from './state';
import {
  currentDocument,
  IPublishTarget,
  kernelTarget,
  kindOf,
  targetForPath
} from './targets';

import repositoryIconSvg from '../style/repository.svg';

export namespace CommandIDs {
  export const publish = 'jupyter-repo:publish';
  export const publishSelected = 'jupyter-repo:publish-selected';
  export const shareEnvironment = 'jupyter-repo:share-environment';
  export const settings = 'jupyter-repo:settings';
  export const openPanel = 'jupyter-repo:open-panel';
}

const CATEGORY = 'Repository';

export const repositoryIcon = new LabIcon({
  name: 'jupyter-repo:repository',
  svgstr: repositoryIconSvg
});

/** Adds the Publish button to every notebook's toolbar. */
class PublishButton implements DocumentRegistry.IWidgetExtension<
  DocumentWidget,
  DocumentRegistry.IModel
> {
  constructor(private readonly app: JupyterFrontEnd) {}

  createNew(panel: DocumentWidget): IDisposable {
    const button = new ToolbarButton({
      className: 'jp-JupyterRepo-publishButton',
      icon: fileUploadIcon,
      label: 'Publish',
      tooltip: 'Publish this notebook to the repository',
      onClick: () => {
        void this.app.commands.execute(CommandIDs.publish, {
          path: panel.context.path
        });
      }
    });
    if (
      !panel.toolbar.insertAfter('cellType', 'jupyter-repo-publish', button)
    ) {
      panel.toolbar.addItem('jupyter-repo-publish', button);
    }
    return button;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-repo:plugin',
  description:
    'Publish notebooks, environments and projects to a jupyter-repo repository.',
  autoStart: true,
  optional: [ICommandPalette, IDefaultFileBrowser, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    fileBrowser: IDefaultFileBrowser | null,
    restorer: ILayoutRestorer | null
  ) => {
    const state = new RepositoryState();
    const { commands } = app;

    const publishTarget = async (
      target: IPublishTarget | null,
      explain: string
    ) => {
      if (!target) {
        await showErrorMessage('Nothing to publish', explain);
        return;
      }
      await openPublishDialog(state, target);
    };

    const selectedItem = () => {
      const items = fileBrowser ? Array.from(fileBrowser.selectedItems()) : [];
      return items.length === 1 ? items[0] : null;
    };

    commands.addCommand(CommandIDs.publish, {
      label: 'Publish to repository…',
      caption:
        'Publish the current notebook, environment file or folder to the repository',
      icon: fileUploadIcon,
      execute: async args => {
        const path = args.path as string | undefined;
        if (path !== undefined) {
          await publishTarget(
            targetForPath(app, { path, type: 'file' }),
            `“${path}” is not a notebook, an environment file or a folder.`
          );
          return;
        }
        const doc = currentDocument(app);
        const model = doc
          ? { path: doc.context.path, type: 'file' as const }
          : selectedItem();
        await publishTarget(
          model ? targetForPath(app, model) : null,
          'Open a notebook or an environment file, or select one (or a folder) in the ' +
            'file browser, then publish it.'
        );
      }
    });

    commands.addCommand(CommandIDs.publishSelected, {
      label: 'Publish to repository…',
      caption:
        'Publish the selected notebook, environment file or folder (as a project)',
      icon: fileUploadIcon,
      isVisible: () => {
        const item = selectedItem();
        return item !== null && kindOf(item) !== null;
      },
      execute: async () => {
        const item = selectedItem();
        await publishTarget(
          item ? targetForPath(app, item) : null,
          'Select one notebook, environment file or folder in the file browser.'
        );
      }
    });

    commands.addCommand(CommandIDs.shareEnvironment, {
      label: 'Share environment…',
      caption:
        'Publish the environment of the current kernel to the repository',
      execute: async () => {
        await publishTarget(
          kernelTarget(currentDocument(app)),
          'Open a notebook whose kernel is running, then share its environment.'
        );
      }
    });

    commands.addCommand(CommandIDs.settings, {
      label: 'Repository settings…',
      caption: 'The repository URL and your login',
      execute: async () => {
        await openLoginDialog(state);
      }
    });

    const panel = new RepositoryPanel(app, state, () => {
      void commands.execute(CommandIDs.settings);
    });
    panel.title.icon = repositoryIcon;
    app.shell.add(panel, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(panel, 'jupyter-repo-sidebar');
    }

    commands.addCommand(CommandIDs.openPanel, {
      label: 'Show the repository panel',
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });

    app.docRegistry.addWidgetExtension('Notebook', new PublishButton(app));

    if (palette) {
      for (const command of [
        CommandIDs.publish,
        CommandIDs.shareEnvironment,
        CommandIDs.settings,
        CommandIDs.openPanel
      ]) {
        palette.addItem({ command, category: CATEGORY });
      }
    }

    void state.refresh();
  }
};

export default plugin;
