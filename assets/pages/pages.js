// The pages behind the links in Tessera's emails. Opening a link changes
// nothing (mail scanners open links too): the token is used only when the
// person presses the button or sends the form, through the GraphQL API.
'use strict';

const token = new URLSearchParams(window.location.search).get('token') ?? '';
const status = document.getElementById('status');

function say(text, kind) {
  status.textContent = text;
  status.className = kind ?? '';
}

/** Runs one GraphQL operation; top-level errors become exceptions. */
async function graphql(query, variables) {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length > 0) throw new Error(body.errors[0].message);
  return body.data;
}

function failed(error) {
  say(`Something went wrong: ${error.message} Try again in a moment.`, 'error');
}

const CONFIRM = `mutation ConfirmEmail($token: String!) {
  confirmEmail(token: $token) { user { email } userErrors { field message code } }
}`;

function confirmEmailPage() {
  const button = document.getElementById('confirm');
  if (!token) {
    say('This link has no token. Open the link from the email again.', 'error');
    return;
  }
  button.disabled = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    say('Confirming…');
    try {
      const { confirmEmail } = await graphql(CONFIRM, { token });
      const [problem] = confirmEmail.userErrors;
      if (!problem) {
        button.hidden = true;
        say(`Your email address ${confirmEmail.user.email} is confirmed. You can close this page.`, 'done');
      } else if (problem.code === 'ALREADY_DONE') {
        button.hidden = true;
        say(problem.message, 'done');
      } else if (problem.code === 'INVALID_TOKEN') {
        button.hidden = true;
        say('This link has expired or was already used. Ask for a new confirmation email.', 'error');
      } else {
        say(problem.message, 'error');
        button.disabled = false;
      }
    } catch (error) {
      failed(error);
      button.disabled = false;
    }
  });
}

const TOKEN_VALID = `query PasswordResetTokenValid($token: String!) { passwordResetTokenValid(token: $token) }`;
const RESET = `mutation ResetPassword($input: ResetPasswordInput!) {
  resetPassword(input: $input) { success userErrors { field message code } }
}`;
const EXPIRED = 'This link has expired or was already used. Ask for a new password-reset email.';

async function resetPasswordPage() {
  const form = document.getElementById('reset');
  const password = document.getElementById('password');
  const repeat = document.getElementById('repeat');
  const save = document.getElementById('save');
  if (!token) {
    say('This link has no token. Open the link from the email again.', 'error');
    return;
  }
  try {
    // A query: it looks at the token without using it.
    const { passwordResetTokenValid } = await graphql(TOKEN_VALID, { token });
    if (!passwordResetTokenValid) {
      say(EXPIRED, 'error');
      return;
    }
  } catch (error) {
    failed(error);
    return;
  }
  form.hidden = false;
  password.focus();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (password.value !== repeat.value) {
      say('The two passwords are not the same.', 'error');
      repeat.focus();
      return;
    }
    save.disabled = true;
    say('Saving…');
    try {
      const { resetPassword } = await graphql(RESET, { input: { token, newPassword: password.value } });
      const [problem] = resetPassword.userErrors;
      if (resetPassword.success && !problem) {
        form.hidden = true;
        say('Your password is changed, and every device was signed out. Sign in with the new password.', 'done');
      } else if (problem.code === 'INVALID_TOKEN') {
        form.hidden = true;
        say(EXPIRED, 'error');
      } else {
        say(problem.message, 'error');
        save.disabled = false;
        password.focus();
      }
    } catch (error) {
      failed(error);
      save.disabled = false;
    }
  });
}

if (document.body.dataset.page === 'confirm-email') confirmEmailPage();
if (document.body.dataset.page === 'reset-password') resetPasswordPage();
