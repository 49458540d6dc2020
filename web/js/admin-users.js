// The users section of the admin page: list, add, change role, reset password, see and end
// sessions, remove, through /api/admin/users (the admin token, or a signed-in admin's cookie and CSRF token).

const $ = (selector) => document.querySelector(selector);

function cell(label, ...children) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.append(...children);
  return td;
}

function button(action, text, label) {
  const b = Object.assign(document.createElement("button"), {
    type: "button",
    className: "button button-quiet",
    textContent: text,
  });
  b.dataset.action = action;
  b.setAttribute("aria-label", label);
  return b;
}

function userRow(user, me) {
  const tr = document.createElement("tr");
  tr.dataset.name = user.name;
  const since = Object.assign(document.createElement("time"), {
    dateTime: user.created_at,
    textContent: new Date(user.created_at).toLocaleDateString(),
  });
  const other = user.role === "admin" ? "reader" : "admin";
  const actions = [
    button("role", `Make ${other}`, `Make ${user.name} ${other === "admin" ? "an admin" : "a reader"}`),
    button("password", "Reset password", `Reset the password of ${user.name}`),
    button("sessions", "Sessions", `Sessions of ${user.name}`),
    button("remove", "Remove", `Remove ${user.name}`),
  ];
  // Signed in with an account: that account cannot demote or remove itself from here.
  if (user.name === me) for (const b of [actions[0], actions[3]]) b.disabled = true;
  tr.append(
    cell("Name", user.name),
    cell("Role", user.role),
    cell("Since", since),
    cell("Actions", Object.assign(document.createElement("div"), { className: "row-actions" })),
  );
  tr.lastChild.firstChild.append(...actions);
  return tr;
}

// One row under a user's row: their browsers and apps, each with when it was last used and
// a button that ends it (and its open streams).
function sessionsRow(user, sessions) {
  const tr = document.createElement("tr");
  tr.className = "user-sessions";
  tr.dataset.sessionsOf = user.name;
  const td = document.createElement("td");
  td.colSpan = 4;
  const list = document.createElement("ul");
  list.setAttribute("aria-label", `Sessions of ${user.name}`);
  for (const s of sessions) {
    const li = document.createElement("li");
    li.dataset.sessionId = String(s.id);
    const seen = new Date(s.last_seen_at).toLocaleString();
    const what = s.kind === "app" ? "App" : "Browser";
    const agent = s.user_agent ? ` (${s.user_agent.slice(0, 80)})` : "";
    li.append(`${what}${agent}, last used ${seen}${s.current ? " — this one" : ""} `);
    const end = button("end-session", "Sign out", `Sign out session ${s.id} of ${user.name}`);
    end.dataset.sessionId = String(s.id);
    li.append(end);
    list.append(li);
  }
  if (!sessions.length) list.append(Object.assign(document.createElement("li"), { textContent: "No sessions." }));
  td.append(list);
  tr.append(td);
  return tr;
}

// `admin(method, path, body)` sends the request; `act(control, fn)` runs it with errors
// shown; `notice(text)` says what was done; `me()` is the signed-in account's name or null.
export function usersSection({ admin, act, notice, me }) {
  let users = [];
  const path = (name) => `/users/${encodeURIComponent(name)}`;

  function draw() {
    $("#users tbody").replaceChildren(...users.map((user) => userRow(user, me())));
  }

  async function load() {
    users = await admin("GET", "/users");
    draw();
  }

  $("#add-user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = event.currentTarget.elements;
    const body = { name: fields.name.value.trim(), password: fields.password.value, role: fields.role.value };
    act(event.submitter, async () => {
      const user = await admin("POST", "/users", body);
      fields.name.value = "";
      fields.password.value = "";
      await load();
      notice(`Added ${user.name} (${user.role}).`);
    });
  });

  $("#users").addEventListener("click", (event) => {
    const control = event.target.closest("button[data-action]");
    if (!control) return;
    const row = control.closest("tr");
    const user = users.find((u) => u.name === (row.dataset.name || row.dataset.sessionsOf));
    if (!user) return;
    const actions = {
      async role() {
        const role = user.role === "admin" ? "reader" : "admin";
        await admin("PATCH", path(user.name), { role });
        await load();
        notice(`${user.name} is now ${role === "admin" ? "an admin" : "a reader"}.`);
      },
      async password() {
        const password = window.prompt(`New password for ${user.name} (at least 8 characters):`);
        if (!password) return;
        await admin("PATCH", path(user.name), { password });
        notice(`Set a new password for ${user.name}; every session of theirs is signed out.`);
      },
      async sessions() {
        const open = document.querySelector(`tr[data-sessions-of="${CSS.escape(user.name)}"]`);
        if (open) {
          open.remove();
          return;
        }
        const sessions = await admin("GET", `${path(user.name)}/sessions`);
        row.after(sessionsRow(user, sessions));
      },
      async "end-session"() {
        const id = control.dataset.sessionId;
        await admin("DELETE", `${path(user.name)}/sessions/${id}`);
        const sessions = await admin("GET", `${path(user.name)}/sessions`);
        row.replaceWith(sessionsRow(user, sessions));
        notice(`Signed out one session of ${user.name}.`);
      },
      async remove() {
        if (!window.confirm(`Remove ${user.name}, with their read and starred marks?`)) return;
        await admin("DELETE", path(user.name));
        await load();
        notice(`Removed ${user.name}.`);
      },
    };
    act(control, actions[control.dataset.action]);
  });

  return { load };
}
