/**
 * jupyter-repo's JupyterLab plugin: wires the commands, the notebook toolbar button, the
 * menus (declared in schema/plugin.json), the palette, the user's settings and the
 * "Repository" sidebar.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { DocumentRegistry, DocumentWidget } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { Contents } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import {
  fileUploadIcon,
  kernelIcon,
  LabIcon,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';

// The client, the state and the sidebar are needed at activation (the sidebar's icon
// shows at once); the dialogs load when first opened.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { RepoClient } from './api';
// The sidebar needs it at once (which rows offer "Open with its environment").
// eslint-disable-next-line jupyter/prefer-lazy-imports
import {
  createEnvironment,
  notebookEnvironment,
  openWithEnvironment
} from './openenv';
import { readSettings } from './settings';

import { OPEN_WITH_ENVIRONMENT, RepositoryPanel } from './sidebar';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { RepositoryState } from './state';
import { IPublishTarget, kernelTarget, kindOf, targetForPath } from './targets';

import repositoryIconSvg from '../style/repository.svg';

export namespace CommandIDs {
  export const publish = 'jupyter-repo:publish';
  export const publishSelected = 'jupyter-repo:publish-selected';
  export const shareEnvironment = 'jupyter-repo:share-environment';
  export const settings = 'jupyter-repo:settings';
  export const openPanel = 'jupyter-repo:open-panel';
  export const openWithEnvironment = OPEN_WITH_ENVIRONMENT;
}

const PLUGIN_ID = 'jupyter-repo:plugin';

/** The extension's translation domain (its Python package). */
const TRANSLATION_DOMAIN = 'jupyter_repo';

export const repositoryIcon = new LabIcon({
  name: 'jupyter-repo:repository',
  svgstr: repositoryIconSvg
});

/** The open document widget for a path, if any. */
function findDocument(
  app: JupyterFrontEnd,
  path: string
): DocumentWidget | null {
  for (const widget of app.shell.widgets('main')) {
    if (widget instanceof DocumentWidget && widget.context.path === path) {
      return widget;
    }
  }
  return null;
}

/** The document in the main area that has focus, if it is one. */
function currentDocument(app: JupyterFrontEnd): DocumentWidget | null {
  const widget = app.shell.currentWidget;
  return widget instanceof DocumentWidget ? widget : null;
}

/** Adds the Publish button to every notebook's toolbar. */
class PublishButton implements DocumentRegistry.IWidgetExtension<
  DocumentWidget,
  DocumentRegistry.IModel
> {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly trans: TranslationBundle
  ) {}

  createNew(panel: DocumentWidget): IDisposable {
    const button = new ToolbarButton({
      className: 'jp-JupyterRepo-publishButton',
      icon: fileUploadIcon,
      label: this.trans.__('Publish'),
      tooltip: this.trans.__('Publish this notebook to the repository'),
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

/** Keep the state's settings in step with the registry (the Settings Editor). */
async function followSettings(
  registry: ISettingRegistry,
  state: RepositoryState
): Promise<void> {
  const settings = await registry.load(PLUGIN_ID);
  const apply = () => state.updateSettings(readSettings(settings.composite));
  apply();
  settings.changed.connect(apply);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Publish notebooks, environments and projects to a jupyter-repo repository.',
  autoStart: true,
  optional: [
    ICommandPalette,
    IDefaultFileBrowser,
    ILayoutRestorer,
    ISettingRegistry,
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    fileBrowser: IDefaultFileBrowser | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const client = new RepoClient(app.serviceManager.serverSettings, trans);
    const state = new RepositoryState(client, trans);
    const { commands } = app;

    if (settingRegistry) {
      followSettings(settingRegistry, state).catch(reason => {
        console.error(`Failed to load the settings of ${PLUGIN_ID}.`, reason);
      });
    }

    const publishTarget = async (
      target: IPublishTarget | null,
      explain: string
    ) => {
      if (!target) {
        await showErrorMessage(trans.__('Nothing to publish'), explain);
        return;
      }
      const { openPublishDialog } = await import('./publish');
      await openPublishDialog(state, target);
    };

    const selectedItem = () => {
      const items = fileBrowser ? Array.from(fileBrowser.selectedItems()) : [];
      return items.length === 1 ? items[0] : null;
    };

    const pathTarget = (model: Pick<Contents.IModel, 'path' | 'type'>) =>
      targetForPath(model, trans, findDocument(app, model.path)?.context);

    commands.addCommand(CommandIDs.publish, {
      label: trans.__('Publish to repository…'),
      caption: trans.__(
        'Publish the current notebook, environment file or folder to the repository'
      ),
      icon: fileUploadIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            path: {
              type: 'string',
              description: trans.__(
                'The notebook, environment file or folder to publish (default: the document in focus, or the file browser’s selection)'
              )
            }
          }
        }
      },
      execute: async args => {
        const path = typeof args.path === 'string' ? args.path : undefined;
        if (path !== undefined) {
          await publishTarget(
            pathTarget({ path, type: 'file' }),
            trans.__(
              '“%1” is not a notebook, an environment file or a folder.',
              path
            )
          );
          return;
        }
        const doc = currentDocument(app);
        const model = doc
          ? { path: doc.context.path, type: 'file' }
          : selectedItem();
        await publishTarget(
          model ? pathTarget(model) : null,
          trans.__(
            'Open a notebook or an environment file, or select one (or a folder) in the file browser, then publish it.'
          )
        );
      }
    });

    commands.addCommand(CommandIDs.publishSelected, {
      label: trans.__('Publish to repository…'),
      caption: trans.__(
        'Publish the selected notebook, environment file or folder (as a project)'
      ),
      icon: fileUploadIcon,
      describedBy: { args: { type: 'object', properties: {} } },
      isVisible: () => {
        const item = selectedItem();
        return item !== null && kindOf(item) !== null;
      },
      execute: async () => {
        const item = selectedItem();
        await publishTarget(
          item ? pathTarget(item) : null,
          trans.__(
            'Select one notebook, environment file or folder in the file browser.'
          )
        );
      }
    });

    commands.addCommand(CommandIDs.shareEnvironment, {
      label: trans.__('Share environment…'),
      caption: trans.__(
        'Publish the environment of the current kernel to the repository'
      ),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: async () => {
        const target = kernelTarget(currentDocument(app), trans);
        if (target?.notebookPath) {
          try {
            // The server names it by the rule its notebook publish follows.
            const suggested = await client.environmentName(target.notebookPath);
            target.defaultName = suggested.name;
          } catch {
            // Not reachable now: the local suggestion (same rule) stays.
          }
        }
        await publishTarget(
          target,
          trans.__(
            'Open a notebook whose kernel is running, then share its environment.'
          )
        );
      }
    });

    commands.addCommand(CommandIDs.settings, {
      label: trans.__('Repository settings…'),
      caption: trans.__('The repository URL and your login'),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: async () => {
        const { openLoginDialog } = await import('./login');
        await openLoginDialog(state);
      }
    });

    /** The notebook a command acts on: the one at `path`, else the one in focus. */
    const notebookAt = (path: unknown) => {
      const doc =
        typeof path === 'string'
          ? findDocument(app, path)
          : currentDocument(app);
      return doc && doc.context.path.endsWith('.ipynb') ? doc : null;
    };
    const environmentOf = (doc: DocumentWidget | null) =>
      doc
        ? notebookEnvironment(
            (doc.context.model as { metadata?: unknown }).metadata
          )
        : null;

    commands.addCommand(CommandIDs.openWithEnvironment, {
      label: trans.__('Open with its environment'),
      caption: trans.__(
        'Build the environment a published notebook carries as a new kernel (or reuse it), then open the notebook with that kernel'
      ),
      icon: kernelIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            owner: {
              type: 'string',
              description: trans.__('The namespace of the published notebook')
            },
            name: {
              type: 'string',
              description: trans.__(
                'The published notebook (downloaded into the workspace and opened)'
              )
            },
            version: { type: 'string' },
            path: {
              type: 'string',
              description: trans.__(
                'An open notebook that carries its environment (default: the one in focus)'
              )
            }
          }
        }
      },
      isEnabled: args =>
        typeof args.owner === 'string' ||
        environmentOf(notebookAt(args.path)) !== null,
      execute: async args => {
        if (typeof args.owner === 'string' && typeof args.name === 'string') {
          await openWithEnvironment(
            app,
            client,
            {
              owner: args.owner,
              name: args.name,
              version: typeof args.version === 'string' ? args.version : null
            },
            trans
          );
          return;
        }
        const doc = notebookAt(args.path);
        const ref = environmentOf(doc);
        if (!doc || !ref) {
          await showErrorMessage(
            trans.__('No environment attached'),
            trans.__(
              'Open a notebook published with an environment (or use the Repository panel’s “Open with its environment”).'
            )
          );
          return;
        }
        const created = await createEnvironment(client, ref, trans);
        if (created) {
          await app.serviceManager.kernelspecs.refreshSpecs();
          await doc.context.sessionContext.changeKernel({
            name: created.kernel_name
          });
        }
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
      label: trans.__('Show the repository panel'),
      describedBy: { args: { type: 'object', properties: {} } },
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });

    app.docRegistry.addWidgetExtension(
      'Notebook',
      new PublishButton(app, trans)
    );

    if (palette) {
      const category = trans.__('Repository');
      for (const command of [
        CommandIDs.publish,
        CommandIDs.shareEnvironment,
        CommandIDs.settings,
        CommandIDs.openPanel,
        CommandIDs.openWithEnvironment
      ]) {
        palette.addItem({ command, category });
      }
    }

    void state.refresh();
  }
};

export default plugin;
