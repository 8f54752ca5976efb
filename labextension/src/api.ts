/**
 * The client of the jupyter-repo server extension (`/jupyter-repo/...` on the Jupyter
 * server, see docs/extension-contract). Every call goes through
 * `ServerConnection.makeRequest`, which adds Jupyter's token and XSRF header.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

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
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

export interface ITask {
  id: string;
  kind: string;
  state: TaskState;
  progress: number | null;
  message: string;
  result: { [key: string]: any } | null;
  error: string | null;
}

export interface IPublishResult {
  owner: string;
  name: string;
  version: string;
  html_url: string;
  files: { [key: string]: any }[];
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

/** An error with a sentence meant for the user (the server's `message`). */
export class RepoError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly status: number
  ) {
    super(message);
  }
}

const PREFIX = 'jupyter-repo';

function fallbackMessage(status: number): string {
  if (status === 404) {
    return (
      'The jupyter-repo server extension is not running in this Jupyter server. ' +
      'Install jupyter-repo in the environment Jupyter runs from and restart it.'
    );
  }
  if (status === 403) {
    return 'This Jupyter server does not allow you to use the repository.';
  }
  return `The Jupyter server answered with an error (HTTP ${status}).`;
}

/** Call one endpoint; answer its JSON, or throw a RepoError with a readable message. */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, PREFIX, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new RepoError(
      `Cannot reach the Jupyter server: ${(error as Error).message ?? error}`,
      'network',
      0
    );
  }
  const text = await response.text();
  let data: any = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message =
      data && typeof data.message === 'string' && data.message
        ? data.message
        : fallbackMessage(response.status);
    throw new RepoError(message, data?.reason ?? '', response.status);
  }
  return data as T;
}

function post<T>(endPoint: string, body: unknown): Promise<T> {
  return requestAPI<T>(endPoint, {
    method: 'POST',
    body: JSON.stringify(body)
  });
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

export function getStatus(): Promise<IStatus> {
  return requestAPI<IStatus>('status');
}

export type LoginRequest =
  | { url?: string; token: string }
  | { url?: string; username: string; password: string };

export function login(request: LoginRequest): Promise<IStatus> {
  return post<IStatus>('login', request);
}

export function logout(): Promise<IStatus> {
  return post<IStatus>('logout', {});
}

export function publish(
  kind: PublishKind,
  request: { [key: string]: unknown }
): Promise<ITaskRef> {
  return post<ITaskRef>(`publish/${kind}`, request);
}

export function previewProject(
  path: string,
  includeHidden: boolean
): Promise<IProjectPreview> {
  return post<IProjectPreview>('publish/project/preview', {
    path,
    include_hidden: includeHidden
  });
}

export function search(params: {
  q?: string;
  type?: string;
  owner?: string;
  page?: number;
  per_page?: number;
}): Promise<IListing> {
  return requestAPI<IListing>('search' + query(params));
}

export function listPackages(owner?: string): Promise<IListing> {
  return requestAPI<IListing>('packages' + query({ owner }));
}

export function openNotebook(request: {
  owner: string;
  name: string;
  version?: string;
  directory?: string;
}): Promise<{ path: string }> {
  return post<{ path: string }>('open', request);
}

export function installEnvironment(request: {
  owner: string;
  name: string;
  version?: string;
  kernel_name?: string;
}): Promise<ITaskRef> {
  return post<ITaskRef>('install-environment', request);
}

export function getTask(id: string): Promise<ITask> {
  return requestAPI<ITask>(`tasks/${encodeURIComponent(id)}`);
}

export async function cancelTask(id: string): Promise<void> {
  await requestAPI<void>(`tasks/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

const FINISHED: TaskState[] = ['succeeded', 'failed', 'cancelled'];

/** Poll a task until it ends, reporting every state seen; answer the final state. */
export async function waitForTask(
  id: string,
  onUpdate: (task: ITask) => void,
  intervalMs = 400
): Promise<ITask> {
  for (;;) {
    const task = await getTask(id);
    onUpdate(task);
    if (FINISHED.includes(task.state)) {
      return task;
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs));
  }
}
