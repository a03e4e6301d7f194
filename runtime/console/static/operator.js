// kubeline console: the operators' pages — users, groups, the image
// catalog and the making and deleting of GPU pools — with forms that do what the API and the CLI let an operator do
// there (kubeline users|groups|images ...). Loaded before console.js, whose
// helpers (h, api, table, act, route, ...) these pages call when they run.
// Every action is a call of the API's own routes, so its policy table
// decides: a form is shown only to who may use it, and a refusal (say, of
// a user whose roles changed since they signed in) is shown in the API's
// words.
'use strict';

const ROLES = [['operator', 'Operator'], ['data-scientist', 'Data Scientist'], ['ml-engineer', 'ML Engineer'], ['production-engineer', 'Production Engineer']];
// NAME_PATTERN is the API's rule for names used in paths (validName).
const NAME_PATTERN = '[A-Za-z0-9_.\\-]{1,63}';
const STANDARD = ':standard'; // the image catalog's choice of a standard image (no group has a ':')
const ALL = 200; // the API's largest page: an operator's lists of users and groups are read whole up to it

// more says when a list has more than the page shows.
function more(d, shown, what) {
  return d.total_size > shown ? h`<p class="notice" role="status">Showing the first ${shown} of ${d.total_size} ${what}.</p>` : '';
}

// actionResult is where a page says what its last action did.
const actionResult = () => h`<p id="action-result" role="status"></p>`;

// done renders the page again and says what the action did.
async function done(msg) {
  await route();
  const r = $('#action-result');
  if (r) r.innerHTML = part(msg);
  $('#main').focus();
}

// checks is a labelled group of checkboxes named name, one per [value, label].
function checks(prefix, legend, name, options, checked) {
  return h`<fieldset class="checks"><legend>${legend}</legend>${options.length ? options.map(([v, label]) =>
    h`<label class="check" for="${prefix}-${v}"><input type="checkbox" id="${prefix}-${v}" name="${name}" value="${v}"${new Safe(checked.includes(v) ? ' checked' : '')}>${label}</label>`)
    : h`<span class="muted">none</span>`}</fieldset>`;
}

const checked = (form, name) => $$(`input[name="${name}"]:checked`, form).map((i) => i.value);

function setChecked(form, name, values) {
  for (const i of $$(`input[name="${name}"]`, form)) i.checked = values.includes(i.value);
}

// onSubmit runs fn for a form's submit through act (failures in the banner).
function onSubmit(form, fn) {
  if (!form) return;
  form.addEventListener('submit', (ev) => { ev.preventDefault(); act(() => fn(form)); });
}

// onClick runs fn(button) for each button matching sel.
function onClick(main, sel, fn) {
  for (const b of $$(sel, main)) b.addEventListener('click', () => act(() => fn(b)));
}

function options(values, selected) {
  return values.map(([v, label]) => h`<option value="${v}"${new Safe(v === selected ? ' selected' : '')}>${label}</option>`);
}

// ---- Users (operators only: GET /users needs the operate permission).
async function pageUsers(main) {
  const [d, g] = await Promise.all([api(KL + '/users?page_size=' + ALL), api(KL + '/groups?page_size=' + ALL)]);
  const users = d.users || [];
  const groups = (g.groups || []).map((x) => [x.name, x.name]);
  const roleName = Object.fromEntries(ROLES);
  set(main, h`<h1>Users</h1>${actionResult()}${more(d, users.length, 'users')}${more(g, groups.length, 'groups')}
  ${table('Users', ['Name', 'Roles', 'Groups', 'Created', 'Actions'], users.map((u) => [u.name, u.roles.map((r) => roleName[r] || r).join(', '),
    u.groups.join(', '), when(u.created_at), h`<button type="button" class="edit-user" data-user="${u.name}">Change ${u.name}</button>
    <button type="button" class="token-user" data-user="${u.name}">New token for ${u.name}</button>
    ${u.name === S.me.name ? '' : h`<button type="button" class="delete-user" data-user="${u.name}">Delete ${u.name}</button>`}`]))}
  <h2 id="add-user-title">Add a user</h2>
  <form class="inline" id="user-form" aria-labelledby="add-user-title">
    <label for="user-name">Name<input id="user-name" name="name" required pattern="${NAME_PATTERN}" autocomplete="off"></label>
    ${checks('user-role', 'Roles', 'role', ROLES, [])}${checks('user-group', 'Groups', 'group', groups, [])}
    <button class="primary" type="submit">Add user</button></form>
  ${users.length ? h`<h2 id="edit-user-title">Change a user's roles and groups</h2>
  <form class="inline" id="user-edit-form" aria-labelledby="edit-user-title">
    <label for="edit-user">User<select id="edit-user" name="user">${options(users.map((u) => [u.name, u.name]), users[0].name)}</select></label>
    ${checks('edit-role', 'Roles', 'role', ROLES, users[0].roles)}${checks('edit-group', 'Groups', 'group', groups, users[0].groups)}
    <button type="submit">Save user</button></form>` : ''}`);
  onSubmit($('#user-form', main), async (f) => {
    const name = $('#user-name', f).value.trim();
    await api(KL + '/users', { method: 'POST', body: { name, roles: checked(f, 'role'), groups: checked(f, 'group') } });
    await done(h`User ${name} added. <strong>New token for ${name}</strong> makes their sign-in token.`);
  });
  const edit = $('#user-edit-form', main);
  const fill = () => {
    const u = users.find((x) => x.name === $('#edit-user', edit).value);
    setChecked(edit, 'role', u.roles);
    setChecked(edit, 'group', u.groups);
  };
  if (edit) $('#edit-user', edit).addEventListener('change', fill);
  onSubmit(edit, async (f) => {
    const name = $('#edit-user', f).value;
    await api(KL + '/users/' + enc(name), { method: 'PATCH', body: { roles: checked(f, 'role'), groups: checked(f, 'group') } });
    await done(h`User ${name} saved.`);
  });
  for (const b of $$('button.edit-user', main)) {
    b.addEventListener('click', () => { $('#edit-user', edit).value = b.dataset.user; fill(); $('#edit-user', edit).focus(); });
  }
  onClick(main, 'button.token-user', async (b) => {
    const t = await api(KL + '/users/' + enc(b.dataset.user) + '/tokens', { method: 'POST', body: {} });
    $('#action-result', main).innerHTML = part(h`Token for ${t.user}, shown only now (it signs in as ${t.user}): <code id="new-token">${t.token}</code>`);
  });
  onClick(main, 'button.delete-user', async (b) => {
    await api(KL + '/users/' + enc(b.dataset.user), { method: 'DELETE' });
    await done(h`User ${b.dataset.user} deleted; what they made stays with their groups.`);
  });
}

// ---- Groups: members see their own; operators create them, give them a
// GPU pool and delete empty ones (members are set on the users page).
async function pageGroups(main) {
  const operate = can('operate');
  const [d, p] = await Promise.all([api(KL + '/groups?page_size=' + ALL), operate ? api(KL + '/pools') : null]);
  const groups = d.groups || [];
  const pools = p ? (p.pools || []).map((x) => [x.name, x.name + (x.gpu_type ? ` (${x.total_gpus} × ${x.gpu_type})` : ` (${x.total_gpus} GPUs)`)]) : [];
  const rows = groups.map((g) => [g.name, g.pool || 'default', (g.members || []).join(', '), when(g.created_at)]
    .concat(operate ? [g.name === 'default' ? '' : h`<button type="button" class="delete-group" data-group="${g.name}">Delete group ${g.name}</button>`] : []));
  set(main, h`<h1>Groups</h1>${operate ? actionResult() : ''}${more(d, groups.length, 'groups')}
  ${table(operate ? 'Groups' : 'Your groups', ['Name', 'Pool', 'Members', 'Created'].concat(operate ? ['Action'] : []), rows)}
  ${operate ? h`<h2 id="add-group-title">Create a group</h2>
  <form class="inline" id="group-form" aria-labelledby="add-group-title">
    <label for="group-name">Name<input id="group-name" name="name" required pattern="${NAME_PATTERN}" autocomplete="off"></label>
    <label for="group-pool">GPU pool<select id="group-pool" name="pool">${options(pools, 'default')}</select></label>
    <button class="primary" type="submit">Create group</button></form>
  ${groups.length ? h`<h2 id="assign-pool-title">Assign a GPU pool to a group</h2>
  <form class="inline" id="group-pool-form" aria-labelledby="assign-pool-title">
    <label for="assign-group">Group<select id="assign-group" name="group">${options(groups.map((g) => [g.name, g.name]), groups[0].name)}</select></label>
    <label for="assign-pool">GPU pool<select id="assign-pool" name="pool">${options(pools, groups[0].pool || 'default')}</select></label>
    <button type="submit">Assign pool</button></form>` : ''}
  <p class="muted">Who is in a group is set on the <a href="#/users">Users</a> page, a pool's GPUs on <a href="#/pools">GPU pools</a>.</p>` : ''}`);
  if (!operate) return;
  onSubmit($('#group-form', main), async (f) => {
    const name = $('#group-name', f).value.trim();
    const pool = $('#group-pool', f).value;
    await api(KL + '/groups', { method: 'POST', body: { name, pool } });
    await done(h`Group ${name} created on pool ${pool}.`);
  });
  const assign = $('#group-pool-form', main);
  if (assign) {
    $('#assign-group', assign).addEventListener('change', () => {
      $('#assign-pool', assign).value = (groups.find((g) => g.name === $('#assign-group', assign).value) || {}).pool || 'default';
    });
  }
  onSubmit(assign, async (f) => {
    const name = $('#assign-group', f).value;
    const pool = $('#assign-pool', f).value;
    await api(KL + '/groups/' + enc(name), { method: 'PATCH', body: { pool } });
    await done(h`Group ${name} now runs on pool ${pool}.`);
  });
  onClick(main, 'button.delete-group', async (b) => {
    await api(KL + '/groups/' + enc(b.dataset.group), { method: 'DELETE' });
    await done(h`Group ${b.dataset.group} deleted.`);
  });
}

// ---- Images: the standard images and the caller's groups' entries.
// Members who develop register their group's; operators the standard ones
// and any group's; an entry's owner or an operator removes it.
async function pageImages(main) {
  const operate = can('operate');
  const [d, g] = await Promise.all([api(KL + '/images'), operate ? api(KL + '/groups?page_size=' + ALL) : null]);
  const images = d.images || [];
  const groups = g ? (g.groups || []).map((x) => x.name) : (S.me.groups || []);
  const catalogs = groups.map((x) => [x, 'Group ' + x]).concat(operate ? [[STANDARD, 'Standard (every group)']] : []);
  const register = can('develop') && catalogs.length > 0;
  const mayRemove = (i) => operate || (!i.standard && i.owner === S.me.name && can('develop'));
  set(main, h`<h1>Images</h1>${actionResult()}
  ${table('The image catalog: standard images and your groups\'', ['Name', 'Catalog', 'Reference', 'Framework', 'GPU', 'Owner', 'Action'],
    images.map((i) => [i.name, i.group || 'standard', h`<code>${i.image}</code>`, [i.framework, i.version].filter(Boolean).join(' '), i.gpu ? 'yes' : 'no', i.owner || '',
      mayRemove(i) ? h`<button type="button" class="remove-image" data-name="${i.name}" data-catalog="${i.group || 'standard'}">Remove ${i.name} from ${i.group || 'standard'}</button>` : '']))}
  ${register ? h`<h2 id="add-image-title">Register an image</h2><p>Specs, deployments and IDEs name it as <code>image://NAME</code>.</p>
  <form class="inline" id="image-form" aria-labelledby="add-image-title">
    <label for="image-name">Name<input id="image-name" name="name" required pattern="${NAME_PATTERN}" autocomplete="off"></label>
    <label for="image-ref">Image reference<input id="image-ref" name="image" required size="36" placeholder="registry.example/team/trainer:1.0"></label>
    <label for="image-framework">Framework<input id="image-framework" name="framework" size="12" placeholder="pytorch"></label>
    <label for="image-version">Framework version<input id="image-version" name="version" size="8"></label>
    <label for="image-catalog">Catalog<select id="image-catalog" name="catalog">${options(catalogs, catalogs[0][0])}</select></label>
    <label for="image-command">Notebook command for IDEs, one argument a line ($(PORT) is its port)<textarea id="image-command" name="command" rows="2" cols="28"></textarea></label>
    <label class="check" for="image-gpu"><input type="checkbox" id="image-gpu" name="gpu">Built for GPUs</label>
    <label class="check" for="image-replace"><input type="checkbox" id="image-replace" name="replace">Replace the entry of that name</label>
    <button class="primary" type="submit">Register image</button></form>` : ''}`);
  onSubmit($('#image-form', main), async (f) => {
    const cat = $('#image-catalog', f).value;
    const body = { name: $('#image-name', f).value.trim(), image: $('#image-ref', f).value.trim(), framework: $('#image-framework', f).value.trim(),
      version: $('#image-version', f).value.trim(), gpu: $('#image-gpu', f).checked, replace: $('#image-replace', f).checked,
      command: $('#image-command', f).value.split('\n').map((x) => x.trim()).filter(Boolean) };
    if (cat === STANDARD) body.standard = true; else body.group = cat;
    const i = await api(KL + '/images', { method: 'POST', body });
    await done(h`Image ${i.name} (${i.image}) registered in ${i.group || 'the standard images'}.`);
  });
  onClick(main, 'button.remove-image', async (b) => {
    await api(KL + '/images/' + enc(b.dataset.catalog) + '/' + enc(b.dataset.name), { method: 'DELETE' });
    await done(h`Image ${b.dataset.name} removed from ${b.dataset.catalog}.`);
  });
}

// ---- GPU pools: the operators' part of the pools page (its cards, charts
// and per-node GPU forms are console.js's pagePools): a new pool from the
// cluster's nodes, and deleting one no group uses.
function poolAdmin(nodes) {
  return h`<h2 id="add-pool-title">Create a pool</h2>
  <form class="inline" id="pool-form" aria-labelledby="add-pool-title">
    <label for="pool-name">Name<input id="pool-name" name="name" required pattern="${NAME_PATTERN}" autocomplete="off"></label>
    <label for="pool-type">GPU type (empty: the nodes')<input id="pool-type" name="gpu_type" size="10"></label>
    ${nodes.map((n) => h`<label for="pool-gpus-${n}">GPUs on node ${n}<input type="number" min="0" id="pool-gpus-${n}" data-node="${n}" value="0"></label>`)}
    <button class="primary" type="submit">Create pool</button></form>
  <p class="muted">A pool's GPUs come from the default pool, which holds every GPU no other pool was given; groups are given pools on the <a href="#/groups">Groups</a> page.</p>`;
}

function wirePoolAdmin(main) {
  onSubmit($('#pool-form', main), async (f) => {
    const name = $('#pool-name', f).value.trim();
    const nodes = $$('input[data-node]', f).map((i) => ({ name: i.dataset.node, gpus: Number(i.value) })).filter((n) => n.gpus > 0);
    const p = await api(KL + '/pools', { method: 'POST', body: { name, gpu_type: $('#pool-type', f).value.trim(), nodes } });
    await done(h`Pool ${p.name} created with ${p.total_gpus} GPU${p.total_gpus === 1 ? '' : 's'}${p.gpu_type ? ' of type ' + p.gpu_type : ''}.`);
  });
  onClick(main, 'button.delete-pool', async (b) => {
    await api(KL + '/pools/' + enc(b.dataset.pool), { method: 'DELETE' });
    await done(h`Pool ${b.dataset.pool} deleted; its GPUs went back to the default pool.`);
  });
}
