// The JavaScript the browser login driver runs in login and consent pages, through WebDriver's
// "execute script". The driver sends this file followed by `return loginPage(...arguments);`,
// the operation's name first among the arguments. Elements given as arguments arrive as
// elements; elements returned go back to the driver as references. No operation returns what
// was typed into a field.

function loginPage(operation, ...args) {
  // A control's type as a form sees it: a button without one submits.
  const type = (e) => {
    const t = e.getAttribute('type');
    return t ? t.toLowerCase() : (e.tagName === 'BUTTON' ? 'submit' : '');
  };
  const formOf = (e) => e.form || e.closest('form');
  const shown = (e) => e.getClientRects().length > 0;
  const prefer = (list) => {
    const v = list.filter(shown);
    return v.length ? v : list;
  };

  const operations = {
    // The page's forms as the form driver sees them: for each, whether it has a password
    // field, the field for the username (the first text, email or telephone input of a login
    // form), the password fields and the submit buttons with their labels. Visible fields are
    // preferred; disabled ones are left alone. On the browser's own error page, its network
    // error code.
    inspect() {
      const out = {
        href: location.href,
        ready: document.readyState,
        scripts: document.scripts.length,
        neterror: '',
        forms: [],
      };
      if (location.protocol === 'chrome-error:') {
        const m = (document.body ? document.body.innerText : '').match(/ERR_[A-Z_]+/);
        out.neterror = m ? m[0] : 'an error page';
        return out;
      }
      const describe = (form, controls, formless) => {
        const enabled = controls.filter((e) => !e.disabled);
        const passwords = prefer(enabled.filter((e) => e.tagName === 'INPUT' && type(e) === 'password'));
        const users = passwords.length
          ? prefer(enabled.filter((e) => e.tagName === 'INPUT' && ['text', 'email', 'tel', ''].includes(type(e))))
          : [];
        const submits = enabled
          .filter((e) => {
            const t = type(e);
            if (e.tagName === 'BUTTON') {
              return t !== 'reset' && (formless || t !== 'button');
            }
            return e.tagName === 'INPUT' && (t === 'submit' || t === 'image' || (formless && t === 'button'));
          })
          .map((e) => ({
            el: e,
            label: (e.getAttribute('name') || '') + ' ' + (e.getAttribute('value') || '') + ' ' + (e.textContent || ''),
          }));
        return { form, login: passwords.length > 0, user: users[0] || null, passwords, submits };
      };
      for (const f of Array.from(document.forms)) {
        out.forms.push(describe(f, Array.from(f.elements), false));
      }
      // A login built without a form element: its password field and buttons outside every form.
      const loose = Array.from(document.querySelectorAll('input, button'))
        .filter((e) => !e.form && !e.closest('form'));
      if (loose.some((e) => e.tagName === 'INPUT' && type(e) === 'password')) {
        out.forms.push(describe(document.body, loose, true));
      }
      return out;
    },

    // Whether the form of the element given has a password field: a login, not a consent.
    isLoginForm(e) {
      const f = formOf(e);
      return !!(f && f.querySelector('input[type=password i]'));
    },

    // The form of the element given and that form's first submit button.
    firstSubmit(e) {
      const f = formOf(e);
      if (!f) {
        return { form: null, button: null };
      }
      const b = Array.from(f.elements).find((x) => {
        const t = type(x);
        return (x.tagName === 'BUTTON' && t === 'submit') || (x.tagName === 'INPUT' && (t === 'submit' || t === 'image'));
      });
      return { form: f, button: b || null };
    },

    // Sets a field the browser would not type into, with the events a page listens to.
    setValue(e, text) {
      e.focus();
      e.value = text;
      e.dispatchEvent(new Event('input', { bubbles: true }));
      e.dispatchEvent(new Event('change', { bubbles: true }));
    },

    // Clicks a button the browser would not click (covered by another element).
    click(e) {
      e.click();
    },

    // Submits a form that has no submit button.
    submit(f) {
      if (f.requestSubmit) {
        f.requestSubmit();
      } else {
        f.submit();
      }
    },

    // Marks the current document and remembers an element, for `changed`.
    mark(token, e) {
      window.__mcpOauthConformanceMark = { token, el: e };
    },

    // Whether the mark is gone (a new document) or its element was taken off the page.
    changed(token) {
      const m = window.__mcpOauthConformanceMark;
      return !m || m.token !== token || !m.el.isConnected;
    },
  };
  return operations[operation](...args);
}
