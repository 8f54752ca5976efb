/**
 * The repository settings / login dialog: the repository URL and either a token or a
 * username and password. The Jupyter server extension stores the credentials server-side
 * (a password is exchanged for a token there); the browser never keeps them.
 */
import { Dialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import type { IStatus, LoginRequest } from './api';
import { field, h } from './dom';
import { messageOf } from './errors';
import { RepositoryState } from './state';

/** One sentence on the connection, for the dialog and the sidebar. */
export function describeConnection(
  status: IStatus,
  trans: TranslationBundle
): string {
  if (status.connected && status.user) {
    return trans.__('Connected to %1 as %2.', status.url, status.user.login);
  }
  if (status.error) {
    return status.error;
  }
  if (status.url) {
    return trans.__('Not logged in to %1.', status.url);
  }
  return trans.__('No repository is configured yet.');
}

class LoginForm extends Widget {
  constructor(
    private readonly state: RepositoryState,
    reason: string | undefined
  ) {
    super();
    const trans = (this.trans = state.trans);
    this.addClass('jp-JupyterRepo-form');
    this.addClass('jp-JupyterRepo-loginForm');
    const status = state.status;
    this.url = h('input', {
      type: 'url',
      name: 'url',
      class: 'jp-mod-styled',
      // eslint-disable-next-line jupyter/no-untranslated-string -- an example URL
      placeholder: 'https://repo.example.org',
      value: status.url ?? state.settings.repositoryUrl
    });
    this.token = h('input', {
      type: 'password',
      name: 'token',
      class: 'jp-mod-styled',
      autocomplete: 'off',
      placeholder: trans.__(
        'a token from “jupyter repo admin issue-token” or the web page'
      )
    });
    this.username = h('input', {
      type: 'text',
      name: 'username',
      class: 'jp-mod-styled',
      autocomplete: 'username'
    });
    this.password = h('input', {
      type: 'password',
      name: 'password',
      class: 'jp-mod-styled',
      autocomplete: 'current-password'
    });
    this.method = h(
      'select',
      { name: 'method', class: 'jp-mod-styled' },
      h('option', { value: 'token' }, trans.__('Token')),
      h('option', { value: 'password' }, trans.__('Username and password'))
    );
    const tokenFields = h(
      'div',
      { class: 'jp-JupyterRepo-tokenFields' },
      field(trans.__('Token'), this.token)
    );
    const passwordFields = h(
      'div',
      { class: 'jp-JupyterRepo-passwordFields', hidden: true },
      field(trans.__('Username'), this.username),
      field(trans.__('Password'), this.password)
    );
    this.method.addEventListener('change', () => {
      tokenFields.hidden = this.method.value !== 'token';
      passwordFields.hidden = this.method.value === 'token';
    });
    this.error = h('div', {
      class: 'jp-JupyterRepo-error',
      role: 'alert',
      hidden: true
    });
    this.node.append(
      reason && reason !== status.error
        ? h('p', { class: 'jp-JupyterRepo-reason' }, reason)
        : '',
      h(
        'p',
        { class: 'jp-JupyterRepo-connection' },
        describeConnection(status, trans)
      ),
      field(trans.__('Repository URL'), this.url),
      field(trans.__('Log in with'), this.method),
      tokenFields,
      passwordFields,
      this.error
    );
  }

  /** Log in; answers whether the repository accepted the credentials. */
  async submit(): Promise<boolean> {
    const trans = this.trans;
    const url = this.url.value.trim() || undefined;
    let request: LoginRequest;
    if (this.method.value === 'token') {
      const token = this.token.value.trim();
      if (!token) {
        return this.fail(trans.__('Enter a token.'));
      }
      request = { url, token };
    } else {
      const username = this.username.value.trim();
      if (!username || !this.password.value) {
        return this.fail(trans.__('Enter your username and password.'));
      }
      request = { url, username, password: this.password.value };
    }
    this.error.hidden = true;
    try {
      const status = await this.state.client.login(request);
      this.state.update(status);
      if (!status.connected) {
        return this.fail(
          status.error ??
            trans.__('The repository did not accept these credentials.')
        );
      }
      return true;
    } catch (error) {
      return this.fail(messageOf(error));
    }
  }

  async logout(): Promise<boolean> {
    try {
      this.state.update(await this.state.client.logout());
      return true;
    } catch (error) {
      return this.fail(messageOf(error));
    }
  }

  private fail(message: string): false {
    this.error.textContent = message;
    this.error.hidden = false;
    return false;
  }

  private readonly trans: TranslationBundle;
  private readonly url: HTMLInputElement;
  private readonly token: HTMLInputElement;
  private readonly username: HTMLInputElement;
  private readonly password: HTMLInputElement;
  private readonly method: HTMLSelectElement;
  private readonly error: HTMLElement;
}

/** A dialog that stays open until the login worked (or the user gives up). */
class LoginDialog extends Dialog<void> {
  constructor(
    private readonly form: LoginForm,
    private readonly buttonList: Dialog.IButton[],
    title: string
  ) {
    super({
      title,
      body: form,
      buttons: buttonList,
      focusNodeSelector: 'input[name="url"]'
    });
    this.addClass('jp-JupyterRepo-dialog');
  }

  resolve(index?: number): void {
    const button = this.buttonList[index ?? this.buttonList.length - 1];
    if (button?.actions.includes(LOGIN)) {
      void this.form.submit().then(ok => ok && super.resolve(index));
      return;
    }
    if (button?.actions.includes(LOGOUT)) {
      void this.form.logout().then(ok => ok && super.resolve(index));
      return;
    }
    super.resolve(index);
  }
}

/** Button actions (whatever the labels say in the user's language). */
const LOGIN = 'jupyter-repo-login';
const LOGOUT = 'jupyter-repo-logout';

/**
 * Show the settings / login dialog. Answers whether the Lab is connected afterwards.
 * `reason` explains why it opened on its own (e.g. before a publish).
 */
export async function openLoginDialog(
  state: RepositoryState,
  reason?: string
): Promise<boolean> {
  const trans = state.trans;
  await state.refresh();
  const buttons = [Dialog.cancelButton({ label: trans.__('Cancel') })];
  if (state.status.connected) {
    buttons.push(
      Dialog.createButton({
        label: trans.__('Log out'),
        accept: false,
        displayType: 'warn',
        actions: [LOGOUT]
      })
    );
  }
  buttons.push(
    Dialog.okButton({ label: trans.__('Log in'), actions: [LOGIN] })
  );
  const dialog = new LoginDialog(
    new LoginForm(state, reason),
    buttons,
    trans.__('Repository settings')
  );
  await dialog.launch();
  return state.status.connected;
}
