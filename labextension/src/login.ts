/**
 * The repository settings / login dialog: the repository URL and either a token or a
 * username and password. The Jupyter server extension stores the credentials server-side
 * (a password is exchanged for a token there); the browser never keeps them.
 */
import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IStatus, login, LoginRequest, logout, RepoError } from './api';
import { field, h } from './dom';
import { RepositoryState } from './state';

function describe(status: IStatus): string {
  if (status.connected && status.user) {
    return `Connected to ${status.url} as ${status.user.login}.`;
  }
  if (status.error) {
    return status.error;
  }
  if (status.url) {
    return `Not logged in to ${status.url}.`;
  }
  return 'No repository is configured yet.';
}

class LoginForm extends Widget {
  constructor(
    private readonly state: RepositoryState,
    reason: string | undefined
  ) {
    super();
    this.addClass('jp-JupyterRepo-form');
    this.addClass('jp-JupyterRepo-loginForm');
    const status = state.status;
    this.url = h('input', {
      type: 'url',
      name: 'url',
      placeholder: 'https://repo.example.org',
      value: status.url ?? ''
    });
    this.token = h('input', {
      type: 'password',
      name: 'token',
      autocomplete: 'off',
      placeholder:
        'a token from “jupyter repo admin issue-token” or the web page'
    });
    this.username = h('input', {
      type: 'text',
      name: 'username',
      autocomplete: 'username'
    });
    this.password = h('input', {
      type: 'password',
      name: 'password',
      autocomplete: 'current-password'
    });
    this.method = h(
      'select',
      { name: 'method' },
      h('option', { value: 'token' }, 'Token'),
      h('option', { value: 'password' }, 'Username and password')
    );
    const tokenFields = h(
      'div',
      { class: 'jp-JupyterRepo-tokenFields' },
      field('Token', this.token)
    );
    const passwordFields = h(
      'div',
      { class: 'jp-JupyterRepo-passwordFields', hidden: true },
      field('Username', this.username),
      field('Password', this.password)
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
      h('p', { class: 'jp-JupyterRepo-connection' }, describe(status)),
      field('Repository URL', this.url),
      field('Log in with', this.method),
      tokenFields,
      passwordFields,
      this.error
    );
  }

  /** Log in; answers whether the repository accepted the credentials. */
  async submit(): Promise<boolean> {
    const url = this.url.value.trim() || undefined;
    let request: LoginRequest;
    if (this.method.value === 'token') {
      const token = this.token.value.trim();
      if (!token) {
        return this.fail('Enter a token.');
      }
      request = { url, token };
    } else {
      const username = this.username.value.trim();
      if (!username || !this.password.value) {
        return this.fail('Enter your username and password.');
      }
      request = { url, username, password: this.password.value };
    }
    this.error.hidden = true;
    try {
      const status = await login(request);
      this.state.update(status);
      if (!status.connected) {
        return this.fail(
          status.error ?? 'The repository did not accept these credentials.'
        );
      }
      return true;
    } catch (error) {
      return this.fail(
        error instanceof RepoError ? error.message : String(error)
      );
    }
  }

  async logout(): Promise<boolean> {
    try {
      this.state.update(await logout());
      return true;
    } catch (error) {
      return this.fail(
        error instanceof RepoError ? error.message : String(error)
      );
    }
  }

  private fail(message: string): false {
    this.error.textContent = message;
    this.error.hidden = false;
    return false;
  }

  private readonly url: HTMLInputElement;
  private readonly token: HTMLInputElement;
  private readonly username: HTMLInputElement;
  private readonly password: HTMLInputElement;
  private readonly method: HTMLSelectElement;
  private readonly error: HTMLElement;
}

const LOGIN_LABEL = 'Log in';
const LOGOUT_LABEL = 'Log out';

/** A dialog that stays open until the login worked (or the user gives up). */
class LoginDialog extends Dialog<void> {
  constructor(
    private readonly form: LoginForm,
    private readonly buttonList: Dialog.IButton[]
  ) {
    super({
      title: 'Repository settings',
      body: form,
      buttons: buttonList,
      focusNodeSelector: 'input[name="url"]'
    });
    this.addClass('jp-JupyterRepo-dialog');
  }

  resolve(index?: number): void {
    const button = this.buttonList[index ?? this.buttonList.length - 1];
    if (button?.label === LOGIN_LABEL) {
      void this.form.submit().then(ok => ok && super.resolve(index));
      return;
    }
    if (button?.label === LOGOUT_LABEL) {
      void this.form.logout().then(ok => ok && super.resolve(index));
      return;
    }
    super.resolve(index);
  }
}

/**
 * Show the settings / login dialog. Answers whether the Lab is connected afterwards.
 * `reason` explains why it opened on its own (e.g. before a publish).
 */
export async function openLoginDialog(
  state: RepositoryState,
  reason?: string
): Promise<boolean> {
  await state.refresh();
  const buttons = [Dialog.cancelButton()];
  if (state.status.connected) {
    buttons.push(
      Dialog.createButton({
        label: LOGOUT_LABEL,
        accept: false,
        displayType: 'warn'
      })
    );
  }
  buttons.push(Dialog.okButton({ label: LOGIN_LABEL }));
  const dialog = new LoginDialog(new LoginForm(state, reason), buttons);
  await dialog.launch();
  return state.status.connected;
}
