/**
 * The client of the jupyter-repo server extension (`/jupyter-repo/...` on the Jupyter
 * server, see docs/jupyter-extension.md). Every call goes through
 * `ServerConnection.makeRequest` with the application's server settings, which add
 * Jupyter's token and XSRF header.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';

import {
  errorFromAnswer,
  networkError,
  RepoError,
  type ErrorReason
} from './errors';
import type { IPackageInfo } from './published';

export interface INamespace {
  login: string;
  kind: 'user' | 'org';
}

export interface IStatus {
  url: string | null;
  connected: boolean;
  user: { login: string; name: string } | null;
  namespaces: INamespace[];
  error: string | null;
}

export interface IPackageItem {
  owner: string;
  name: string;
  summary: string;
  latest_version: string | null;
  package_types: string[];
  platforms: string[];
  labels: string[];
  public: boolean;
  html_url: string;
}

export interface IListing {
  items: IPackageItem[];
  total: number;
}

export interface ITaskRef {
  task_id: string;
  location: string;
}

export type TaskState =
  'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface ITask<R = unknown> {
  id: string;
  kind: string;
  state: TaskState;
  progress: number | null;
  message: string;
  result: R | null;
  error: string | null;
  reason: ErrorReason | null;
}

/** Where a publish went (the result of a publish task). */
export interface IPublishResult {
  owner: string;
  name: string;
  version: string;
  html_url: string;
  /** The environment published along with a notebook, if any. */
  environment?: { owner: string; name: string; html_url: string } | null;
  /** What the server recorded in the notebook's metadata (`jupyter_repo`). */
  notebook_metadata?: IPublishedMetadata | null;
  /** Who may read the package now (after the publish applied the choice). */
  public?: boolean;
  /** The label asked for, and the labels the repository gave the files. */
  label?: string | null;
  labels?: string[];
}

/** What an earlier publish wrote into a notebook's metadata (key `jupyter_repo`). */
export interface IPublishedMetadata {
  owner?: string;
  name?: string;
  version?: string;
  url?: string;
}

export type PublishKind = 'notebook' | 'environment' | 'project';

export interface IProjectFile {
  path: string;
  size: number;
}

/** What a project publish would pack, listed before anything is uploaded. */
export interface IProjectPreview {
  root: string;
  file_count: number;
  total_size: number;
  files: IProjectFile[];
  files_truncated: boolean;
  largest: IProjectFile[];
  excluded: { path: string; reason: string }[];
  excluded_count: number;
  /** Files (or folders) holding credentials: never published, whatever is chosen. */
  credentials: string[];
  spec_file: string | null;
  include_hidden: boolean;
}

export type LoginRequest =
  | { url?: string; token: string }
  | { url?: string; username: string; password: string };

/** A publish request, as the server extension's endpoints take it. */
export interface IPublishRequest {
  namespace: string;
  name: string;
  summary: string;
  label: string;
  public: boolean;
  version?: string;
  path?: string;
  kernel_id?: string;
  kernel_name?: string;
  attach_environment?: boolean;
  include_hidden?: boolean;
}

const PREFIX = 'jupyter-repo';

/**
 * Call one endpoint of the server extension; answer its JSON, or throw a `RepoError`
 * with a readable message.
 */
export async function requestAPI<T>(
  endPoint: string,
  serverSettings: ServerConnection.ISettings,
  trans: TranslationBundle,
  init: RequestInit = {}
): Promise<T> {
  const url = URLExt.join(serverSettings.baseUrl, PREFIX, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, serverSettings);
  } catch (error) {
    throw networkError(error, trans);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw errorFromAnswer(response.status, data, trans);
  }
  return data as T;
}

function query(params: { [key: string]: string | number | undefined }): string {
  const defined: { [key: string]: string } = {};
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') {
      defined[key] = String(value);
    }
  }
  return URLExt.objectToQueryString(defined);
}

const FINISHED: TaskState[] = ['succeeded', 'failed', 'cancelled'];

/** The endpoints of the server extension, on one Jupyter server. */
/** Where `open` put a package: a notebook's path, or a project's new folder. */
export interface IOpened {
  path: string;
  type: 'notebook' | 'directory';
}

export class RepoClient {
  constructor(
    readonly serverSettings: ServerConnection.ISettings,
    private readonly trans: TranslationBundle
  ) {}

  status(): Promise<IStatus> {
    return this.get<IStatus>('status');
  }

  login(request: LoginRequest): Promise<IStatus> {
    return this.post<IStatus>('login', request);
  }

  logout(): Promise<IStatus> {
    return this.post<IStatus>('logout', {});
  }

  publish(kind: PublishKind, request: IPublishRequest): Promise<ITaskRef> {
    return this.post<ITaskRef>(`publish/${kind}`, request);
  }

  /** The name *Share environment* suggests for a notebook's kernel environment. */
  environmentName(path: string): Promise<{ name: string }> {
    return this.get<{ name: string }>(
      'publish/environment/name' + query({ path })
    );
  }

  previewProject(
    path: string,
    includeHidden: boolean
  ): Promise<IProjectPreview> {
    return this.post<IProjectPreview>('publish/project/preview', {
      path,
      include_hidden: includeHidden
    });
  }

  search(params: {
    q?: string;
    type?: string;
    owner?: string;
    page?: number;
    per_page?: number;
  }): Promise<IListing> {
    return this.get<IListing>('search' + query(params));
  }

  listPackages(owner?: string): Promise<IListing> {
    return this.get<IListing>('packages' + query({ owner }));
  }

  /** A package as the repository shows it to this user, or null if there is none. */
  async packageInfo(owner: string, name: string): Promise<IPackageInfo | null> {
    try {
      return await this.get<IPackageInfo>('package' + query({ owner, name }));
    } catch (error) {
      if (error instanceof RepoError && error.reason === 'not_found') {
        return null;
      }
      throw error;
    }
  }

  /** Bring a notebook (or a project, unpacked into a new folder) into the workspace. */
  openNotebook(request: {
    owner: string;
    name: string;
    version?: string;
    directory?: string;
    /** Open it with this kernel (the notebook's kernelspec metadata names it). */
    kernel_name?: string;
  }): Promise<IOpened> {
    return this.post<IOpened>('open', request);
  }

  /** Install a package (conda or pip) into a kernel's environment (a task). */
  install(request: {
    spec: string;
    kernel_name?: string;
    label?: string;
  }): Promise<ITaskRef> {
    return this.post<ITaskRef>('install', request);
  }

  installEnvironment(request: {
    owner: string;
    name: string;
    version?: string;
    kernel_name?: string;
  }): Promise<ITaskRef> {
    return this.post<ITaskRef>('install-environment', request);
  }

  /** Build (or reuse) a new environment and kernel from a shared one (a task). */
  createEnvironment(request: {
    owner: string;
    name: string;
    version?: string;
  }): Promise<ITaskRef> {
    return this.post<ITaskRef>('create-environment', request);
  }

  async taskLog(id: string): Promise<string[]> {
    const answer = await this.get<{ lines: string[] }>(
      `tasks/${encodeURIComponent(id)}/log`
    );
    return answer.lines;
  }

  getTask<R>(id: string): Promise<ITask<R>> {
    return this.get<ITask<R>>(`tasks/${encodeURIComponent(id)}`);
  }

  async cancelTask(id: string): Promise<void> {
    await requestAPI<void>(
      `tasks/${encodeURIComponent(id)}`,
      this.serverSettings,
      this.trans,
      { method: 'DELETE' }
    );
  }

  /** Poll a task until it ends, reporting every state seen; answer the final state. */
  async waitForTask<R>(
    id: string,
    onUpdate: (task: ITask<R>) => void,
    intervalMs = 400
  ): Promise<ITask<R>> {
    for (;;) {
      const task = await this.getTask<R>(id);
      onUpdate(task);
      if (FINISHED.includes(task.state)) {
        return task;
      }
      await new Promise(resolve => setTimeout(resolve, intervalMs));
    }
  }

  private get<T>(endPoint: string): Promise<T> {
    return requestAPI<T>(endPoint, this.serverSettings, this.trans);
  }

  private post<T>(endPoint: string, body: unknown): Promise<T> {
    return requestAPI<T>(endPoint, this.serverSettings, this.trans, {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }
}
