/**
 * The Lab side's view of the repository: the client of the server extension, the last
 * `status` answer and the user's settings, shared by the publish dialog, the login
 * dialog and the sidebar, with signals when they (or the repository's content, after a
 * publish) change.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import type { IStatus, RepoClient } from './api';
import { messageOf } from './errors';
import { DEFAULT_SETTINGS, IRepositorySettings } from './settings';

const UNKNOWN: IStatus = {
  url: null,
  connected: false,
  user: null,
  namespaces: [],
  error: null
};

/** The part of the client the state needs (the whole `RepoClient` in the Lab). */
export interface IStatusSource {
  status(): Promise<IStatus>;
}

export class RepositoryState<C extends IStatusSource = RepoClient> {
  constructor(
    /** The client of the server extension. */
    readonly client: C,
    /** The extension's strings in the user's language. */
    readonly trans: TranslationBundle
  ) {}

  get status(): IStatus {
    return this._status;
  }

  get settings(): IRepositorySettings {
    return this._settings;
  }

  /** Emitted after the status is refreshed or replaced. */
  get statusChanged(): ISignal<this, IStatus> {
    return this._statusChanged;
  }

  /** Emitted after the user's settings changed. */
  get settingsChanged(): ISignal<this, IRepositorySettings> {
    return this._settingsChanged;
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
      const status = await this.client.status();
      this._serverError = null;
      this.update(status);
    } catch (error) {
      this._serverError = messageOf(error);
      this.update({ ...UNKNOWN, error: this._serverError });
    }
    return this._status;
  }

  update(status: IStatus): void {
    this._status = status;
    this._statusChanged.emit(status);
  }

  updateSettings(settings: IRepositorySettings): void {
    this._settings = settings;
    this._settingsChanged.emit(settings);
  }

  notifyPublished(owner: string, name: string): void {
    this._published.emit({ owner, name });
  }

  private _status: IStatus = UNKNOWN;
  private _settings: IRepositorySettings = { ...DEFAULT_SETTINGS };
  private _serverError: string | null = null;
  private _statusChanged = new Signal<this, IStatus>(this);
  private _settingsChanged = new Signal<this, IRepositorySettings>(this);
  private _published = new Signal<this, { owner: string; name: string }>(this);
}
