/**
 * What a publish is about: a notebook, an environment (a file, or a running kernel's) or
 * a folder published as a project, found from a path or from the document in focus.
 */
import { PathExt } from '@jupyterlab/coreutils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { Contents } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';

import type { PublishKind } from './api';
import { slugify } from './dom';

export interface IPublishTarget {
  kind: PublishKind;
  /** Contents path of the notebook, environment file or folder (absent for a kernel). */
  path?: string;
  /** For a kernel's environment. */
  kernelName?: string;
  kernelId?: string;
  /** For a kernel's environment: the notebook it serves (its name is derived from it). */
  notebookPath?: string;
  /** The open document, when there is one (saved before publishing, reloaded after). */
  context?: DocumentRegistry.Context;
  /** What the dialog proposes as the package name. */
  defaultName: string;
  /** What the user sees as "what is published". */
  description: string;
}

/** The part of an open document a kernel target needs. */
export interface IKernelDocument {
  context: {
    path: string;
    sessionContext: {
      session?: { kernel?: { name: string; id: string } | null } | null;
    };
  };
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

/** A target for a notebook, environment file or folder; null for anything else. */
export function targetForPath(
  model: Pick<Contents.IModel, 'type' | 'path'>,
  trans: TranslationBundle,
  context?: DocumentRegistry.Context
): IPublishTarget | null {
  const kind = kindOf(model);
  if (kind === null) {
    return null;
  }
  const path = model.path;
  const shown = path || '/';
  const description = {
    notebook: trans.__('Publishes the notebook “%1”.', shown),
    environment: trans.__('Publishes the environment file “%1”.', shown),
    project: trans.__('Publishes the folder, as a project, “%1”.', shown)
  }[kind];
  const name = kind === 'project' ? PathExt.basename(path) : stem(path);
  return {
    kind,
    path,
    context,
    defaultName: slugify(name || 'project') || kind,
    description
  };
}

/** The suffix of a notebook's environment (`ENVIRONMENT_SUFFIX` on the server). */
export const ENVIRONMENT_SUFFIX = '-env';

/** A notebook's environment name, by the server's rule (`environment_name`). */
export function environmentName(notebookName: string): string {
  return `${notebookName}${ENVIRONMENT_SUFFIX}`;
}

/** The environment of the kernel behind an open document, if one is running. */
export function kernelTarget(
  document: IKernelDocument | null,
  trans: TranslationBundle
): IPublishTarget | null {
  const kernel = document?.context.sessionContext.session?.kernel;
  if (!document || !kernel) {
    return null;
  }
  const path = document.context.path;
  const notebook = path.endsWith('.ipynb');
  return {
    kind: 'environment',
    kernelName: kernel.name,
    kernelId: kernel.id,
    ...(notebook ? { notebookPath: path } : {}),
    // Shown until the server's suggestion arrives (`environmentName`), which follows the
    // one naming rule (jupyter_repo.client.notebooks.environment_name).
    defaultName: environmentName(slugify(stem(path)) || 'notebook'),
    description: trans.__(
      'Publishes the environment of the kernel “%1” used by “%2”.',
      kernel.name,
      path
    )
  };
}
