/**
 * The Lab side's view of the connection to the repository: the last `status` answer,
 * shared by the publish dialog, the login dialog and the sidebar, with a signal when it
 * (or the repository's content, after a publish) changes.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { getStatus, IStatus, RepoError } from './api';

const UNKNOWN: IStatus = {
  url: null,
  connected: false,
  user: null,
  namespaces: [],
  error: null
};

export class RepositoryState {
  get status(): IStatus {
    return this._status;
  }

  /** Emitted after the status is refreshed or replaced. */
  get statusChanged(): ISignal<this, IStatus> {
    return this._statusChanged;
  }

  /** Emitted after something was published, so listings can refresh. */
  get published(): ISignal<this, { owner: string; name: string }> {
    return this._published;
  }

  /**
   * Why the server extension could not be asked (it is missing, or the Jupyter server is
   * unreachable), or null. Unlike `status.error`, logging in cannot fix it.
   */
  get serverError(): string | null {
    return this._serverError;
  }

  async refresh(): Promise<IStatus> {
    try {
      const status = await getStatus();
      this._serverError = null;
      this.update(status);
    } catch (error) {
      this._serverError =
        error instanceof RepoError ? error.message : String(error);
      this.update({ ...UNKNOWN, error: this._serverError });
    }
    return this._status;
  }

  update(status: IStatus): void {
    this._status = status;
    this._statusChanged.emit(status);
  }

  notifyPublished(owner: string, name: string): void {
    this._published.emit({ owner, name });
  }

  private _status: IStatus = UNKNOWN;
  private _serverError: string | null = null;
  private _statusChanged = new Signal<this, IStatus>(this);
  private _published = new Signal<this, { owner: string; name: string }>(this);
}
