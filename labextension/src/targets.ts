/**
 * What a publish is about: a notebook, an environment (a file, or a running kernel's) or
 * a folder published as a project, found from a path or from the document in focus.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { PathExt } from '@jupyterlab/coreutils';
import { DocumentRegistry, DocumentWidget } from '@jupyterlab/docregistry';
import { Contents } from '@jupyterlab/services';

import { PublishKind } from './api';
import { slugify } from './dom';

export interface IPublishTarget {
  kind: PublishKind;
  /** Contents path of the notebook, environment file or folder (absent for a kernel). */
  path?: string;
  /** For a kernel's environment. */
  kernelName?: string;
  kernelId?: string;
  /** The open document, when there is one (saved before publishing, reloaded after). */
  context?: DocumentRegistry.Context;
  /** What the dialog proposes as the package name. */
  defaultName: string;
  /** What the user sees as "what is published". */
  description: string;
}

const ENVIRONMENT_FILE = /(\.ya?ml|^requirements[^/]*\.txt)$/i;

/** The kind of a file-browser item, or null when it cannot be published. */
export function kindOf(
  model: Pick<Contents.IModel, 'type' | 'path'>
): PublishKind | null {
  const name = PathExt.basename(model.path);
  if (model.type === 'directory') {
    return 'project';
  }
  if (model.type === 'notebook' || name.endsWith('.ipynb')) {
    return 'notebook';
  }
  if (ENVIRONMENT_FILE.test(name)) {
    return 'environment';
  }
  return null;
}

function stem(path: string): string {
  const name = PathExt.basename(path);
  const extension = PathExt.extname(name);
  return extension ? name.slice(0, -extension.length) : name;
}

/** The open document widget for a path, if any. */
export function findDocument(
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
export function currentDocument(app: JupyterFrontEnd): DocumentWidget | null {
  const widget = app.shell.currentWidget;
  return widget instanceof DocumentWidget ? widget : null;
}

export function targetForPath(
  app: JupyterFrontEnd,
  model: Pick<Contents.IModel, 'type' | 'path'>
): IPublishTarget | null {
  const kind = kindOf(model);
  if (kind === null) {
    return null;
  }
  const path = model.path;
  const folderName = PathExt.basename(path) || 'project';
  const what = {
    notebook: 'the notebook',
    environment: 'the environment file',
    project: 'the folder, as a project,'
  }[kind];
  return {
    kind,
    path,
    context: findDocument(app, path)?.context,
    defaultName: slugify(kind === 'project' ? folderName : stem(path)) || kind,
    description: `Publishes ${what} “${path || '/'}”.`
  };
}

/** The environment of the kernel behind the document in focus. */
export function kernelTarget(
  widget: DocumentWidget | null
): IPublishTarget | null {
  const kernel = widget?.context.sessionContext.session?.kernel;
  if (!widget || !kernel) {
    return null;
  }
  return {
    kind: 'environment',
    kernelName: kernel.name,
    kernelId: kernel.id,
    defaultName: slugify(`${stem(widget.context.path)}-environment`),
    description:
      `Publishes the environment of the kernel “${kernel.name}” ` +
      `used by “${widget.context.path}”.`
  };
}
