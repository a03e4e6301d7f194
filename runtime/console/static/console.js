// kubeline console: hash-routed pages over kubeline's API. No framework,
// no third-party code: every page asks the API for its data with the
// signed-in user's token (kept in this tab's session storage), so the
// API's policy table decides what each page shows.
'use strict';

const KL = '/apis/kubeline/v1';
const KFP = '/apis/v2beta1';
const KINDS = { datasets: 'dataset', featuresets: 'featureset', code: 'code', models: 'model' };
const LIST_KEY = { datasets: 'datasets', featuresets: 'featuresets', code: 'codes', models: 'models' };
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELED', 'SKIPPED'];

const S = { token: sessionStorage.getItem('kubeline.token') || '', me: null, timers: [], streams: [], serial: 0 };

// ---- HTML building: every value is escaped unless it is Safe.
class Safe { constructor(s) { this.s = s; } toString() { return this.s; } }
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const part = (v) => (v instanceof Safe ? v.s : Array.isArray(v) ? v.map(part).join('') : esc(v));
function h(strings, ...vals) {
  let out = strings[0];
  vals.forEach((v, i) => { out += part(v) + strings[i + 1]; });
  return new Safe(out);
}
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// ---- The API.
class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (S.token) headers.Authorization = 'Bearer ' + S.token;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, { method: opts.method || 'GET', headers, body });
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try { const j = JSON.parse(text); msg = j.message || j.error_message || text; } catch (e) { /* plain text */ }
    throw new ApiError(res.status, msg || res.statusText);
  }
  if (opts.raw) return text;
  return text ? JSON.parse(text) : {};
}

const can = (perm) => !!S.me && (S.me.permissions || []).includes(perm);
const enc = encodeURIComponent;
const when = (ts) => (ts && !String(ts).startsWith('1970') ? new Date(ts).toLocaleString() : '');
const short = (s, n = 12) => (s && s.length > n ? s.slice(0, n) + '…' : s || '');
const uiRun = (id) => '/#/runs/details/' + enc(id);

function runLink(id, name) {
  return h`<a href="${uiRun(id)}" aria-label="Run ${name || id} in the Pipelines UI">${name || short(id)}</a>`;
}

function versionHref(kind, name, version) {
  const path = Object.keys(KINDS).find((k) => KINDS[k] === kind) || kind + 's';
  return '#/' + path + '/' + enc(name) + '/v' + version;
}

function table(caption, heads, rows) {
  const body = rows.length
    ? rows.map((r) => h`<tr>${r.map((c) => h`<td>${c}</td>`)}</tr>`)
    : [h`<tr><td colspan="${heads.length}" class="muted">None</td></tr>`];
  return h`<table><caption>${caption}</caption><thead><tr>${heads.map((x) => h`<th scope="col">${x}</th>`)}</tr></thead><tbody>${body}</tbody></table>`;
}

function fields(obj, keys) {
  return h`<dl class="fields">${keys.filter((k) => obj[k] !== undefined && obj[k] !== '' && obj[k] !== null)
    .map((k) => h`<dt>${k.replace(/_/g, ' ')}</dt><dd>${typeof obj[k] === 'object' ? JSON.stringify(obj[k]) : obj[k]}</dd>`)}</dl>`;
}

// ---- Charts: SVG drawn from the server's numbers.
function chart({ title, series, width = 640, height = 200, yLabel = '', bars = null }) {
  const pad = { l: 48, r: 12, t: 12, b: 28 };
  const all = series.flatMap((s) => s.points);
  const barPts = bars ? bars.points : [];
  const xs = all.concat(barPts).map((p) => p[0]);
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs) : 1;
  const ys = all.map((p) => p[1]);
  const y1 = Math.max(1, ...ys);
  const b1 = Math.max(1, ...barPts.map((p) => p[1]));
  const W = width - pad.l - pad.r;
  const H = height - pad.t - pad.b;
  const X = (x) => pad.l + (x1 === x0 ? W / 2 : ((x - x0) / (x1 - x0)) * W);
  const Y = (y, top) => pad.t + H - (y / top) * H;
  let svg = `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>`;
  svg += `<rect x="${pad.l}" y="${pad.t}" width="${W}" height="${H}" fill="#fff" stroke="#d0d7de"/>`;
  for (let i = 0; i <= 4; i++) {
    const v = (y1 * i) / 4;
    svg += `<line x1="${pad.l}" x2="${pad.l + W}" y1="${Y(v, y1)}" y2="${Y(v, y1)}" stroke="#eee"/>`;
    svg += `<text x="${pad.l - 4}" y="${Y(v, y1) + 3}" text-anchor="end" font-size="10">${+v.toPrecision(3)}</text>`;
  }
  if (bars) {
    const bw = Math.max(2, W / Math.max(1, barPts.length) - 2);
    for (const [x, y] of barPts) {
      if (y > 0) svg += `<rect class="bar" x="${X(x) - bw / 2}" y="${Y(y, b1)}" width="${bw}" height="${pad.t + H - Y(y, b1)}" fill="${bars.color}" opacity="0.5"><title>${esc(bars.name)} ${y}</title></rect>`;
    }
  }
  for (const s of series) {
    if (!s.points.length) continue;
    const pts = s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y, y1).toFixed(1)}`).join(' ');
    svg += `<polyline class="line" points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="5 3"' : ''}/>`;
    if (s.dots) for (const [x, y] of s.points) svg += `<circle cx="${X(x).toFixed(1)}" cy="${Y(y, y1).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)} ${y}</title></circle>`;
  }
  svg += `<text x="${pad.l}" y="${height - 8}" font-size="10">${esc(yLabel)}</text>`;
  let lx = pad.l + 120;
  for (const s of (bars ? [bars] : []).concat(series)) {
    svg += `<rect x="${lx}" y="${height - 16}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${height - 7}" font-size="10">${esc(s.name)}</text>`;
    lx += 24 + s.name.length * 6;
  }
  return new Safe(svg + '</svg>');
}

// ---- Chrome: navigation, errors, timers.
const NAV = [
  ['#/projects', 'Projects', 'view'], ['#/runs', 'Runs', 'view'], ['#/datasets', 'Datasets', 'view'],
  ['#/featuresets', 'Featuresets', 'view'], ['#/code', 'Code', 'view'], ['#/models', 'Models', 'view'],
  ['#/catalog', 'Catalog', 'catalog'], ['#/deployments', 'Deployments', 'catalog'], ['#/hpo', 'HPO', 'view'],
  ['#/compare', 'Compare', 'view'], ['#/pools', 'GPU pools', 'view'], ['#/queue', 'Queue', 'view'], ['#/ides', 'IDEs', 'view'],
  ['#/users', 'Users', 'operate'], ['#/groups', 'Groups', 'view'], ['#/images', 'Images', 'view'],
];

function renderChrome(hash) {
  const nav = $('#nav');
  const who = $('#who');
  if (!S.me) { nav.innerHTML = ''; who.innerHTML = ''; return; }
  const base = hash.split('?')[0].split('/').slice(0, 2).join('/');
  nav.innerHTML = part(NAV.filter(([, , need]) => can(need)).map(([href, label]) =>
    h`<li><a href="${href}"${new Safe(href === base ? ' aria-current="page"' : '')}>${label}</a></li>`));
  const name = S.me.name || 'single-user';
  who.innerHTML = part([h`<span>${name} (${(S.me.roles || []).join(', ')}; ${(S.me.groups || []).join(', ')})</span>`,
    S.me.multi_user ? h`<button type="button" id="signout">Sign out</button>` : '']);
  const out = $('#signout');
  if (out) out.addEventListener('click', () => { sessionStorage.removeItem('kubeline.token'); S.token = ''; S.me = null; location.hash = '#/signin'; });
}

function showError(msg) {
  const b = $('#error-banner');
  b.textContent = msg;
  b.hidden = false;
}

// every calls fn every ms until the page changes or fn returns false.
function every(ms, fn) {
  const serial = S.serial;
  const tick = async () => {
    if (serial !== S.serial) return;
    let again;
    try { again = await fn(); } catch (e) { if (serial === S.serial) showError(e.message); return; }
    if (serial === S.serial && again !== false) S.timers.push(setTimeout(tick, ms));
  };
  S.timers.push(setTimeout(tick, ms));
}

// ---- Router.
const ROUTES = [
  [/^#\/?$/, pageProjects], [/^#\/projects$/, pageProjects], [/^#\/projects\/([^/]+)$/, pageProject],
  [/^#\/runs$/, pageRuns],
  [/^#\/(datasets|featuresets|code|models)$/, pageResources],
  [/^#\/(datasets|featuresets|code|models)\/([^/]+)$/, pageVersions],
  [/^#\/(datasets|featuresets|code|models)\/([^/]+)\/v(\d+)$/, pageVersion],
  [/^#\/catalog$/, pageCatalog], [/^#\/deployments$/, pageDeployments], [/^#\/deployments\/([^/]+)$/, pageDeployment],
  [/^#\/deployments\/([^/]+)\/edit$/, pageDeploymentEdit],
  [/^#\/pools$/, pagePools], [/^#\/queue$/, pageQueue], [/^#\/hpo$/, pageHPOList], [/^#\/hpo\/([^/]+)$/, pageHPO],
  [/^#\/compare(?:\?(.*))?$/, pageCompare], [/^#\/ides$/, pageIDEs], [/^#\/users$/, pageUsers],
  [/^#\/groups$/, pageGroups], [/^#\/images$/, pageImages], [/^#\/signin$/, pageSignin],
];

async function route() {
  S.serial++;
  S.timers.forEach(clearTimeout);
  S.timers = [];
  S.streams.forEach((c) => c.abort()); // live.js
  S.streams = [];
  delete document.body.dataset.live;
  delete document.body.dataset.pushes;
  const serial = S.serial;
  const hash = location.hash || '#/projects';
  document.body.dataset.ready = '';
  $('#error-banner').hidden = true;
  const main = $('#main');
  if (!S.me && hash !== '#/signin') {
    try {
      S.me = await api(KL + '/whoami');
    } catch (e) {
      if (e.status === 401) { location.hash = '#/signin'; return; }
      showError('kubeline did not answer who you are: ' + e.message);
      document.body.dataset.ready = hash;
      return;
    }
  }
  renderChrome(hash);
  const found = ROUTES.find(([re]) => re.test(hash));
  try {
    if (!found) throw new ApiError(404, 'no console page ' + hash);
    const args = hash.match(found[0]).slice(1).map((a) => (a === undefined ? '' : decodeURIComponent(a)));
    await found[1](main, ...args);
  } catch (e) {
    if (serial !== S.serial) return;
    failed(main, e);
  }
  if (serial !== S.serial) return;
  const h1 = $('h1', main);
  document.title = (h1 ? h1.textContent + ' · ' : '') + 'kubeline console';
  document.body.dataset.ready = hash;
}

// failed shows why a page has nothing: what the caller may not see or what
// does not exist is a notice, anything else the error banner.
function failed(main, e) {
  if (e.status === 401) { location.hash = '#/signin'; return; }
  if (e.status === 403 || e.status === 404) {
    const what = e.status === 403 ? 'You may not open this page' : 'Not found';
    main.innerHTML = part(h`<h1>${what}</h1><p class="notice" role="status" id="notice">${e.message}</p>`);
    return;
  }
  main.innerHTML = part(h`<h1>Something went wrong</h1>`);
  showError(e.message);
}

function set(main, content) { main.innerHTML = part(content); }

// act runs a button's or form's action, showing its failure in the error
// banner in the API's words: a refusal says so (the roles the page was
// drawn for may have changed since: they are read again), bad input names
// its field.
async function act(fn) {
  try {
    await fn();
  } catch (e) {
    if (e.status === 401) { location.hash = '#/signin'; return; }
    const what = e.status === 403 ? 'Not allowed' : e.status >= 400 && e.status < 500 ? 'Not done' : 'Failed';
    showError(`${what}${e.status ? ' (HTTP ' + e.status + ')' : ''}: ${e.message}`);
    if (e.status === 403) {
      try { S.me = await api(KL + '/whoami'); renderChrome(location.hash); } catch (e2) { /* the banner says enough */ }
    }
  }
}

// ---- Pages.
async function pageSignin(main) {
  set(main, h`<h1>Sign in</h1><p>Sign in with a kubeline token (<code>kubeline users create-token NAME</code>). It is kept in this browser tab only.</p>
  <form class="inline" id="signin"><label for="token">Token<input id="token" name="token" type="password" autocomplete="off" required></label>
  <button class="primary" type="submit">Sign in</button></form><p id="signin-result" role="status"></p>`);
  $('#signin').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    S.token = $('#token').value.trim();
    try {
      S.me = await api(KL + '/whoami');
      sessionStorage.setItem('kubeline.token', S.token);
      location.hash = '#/projects';
    } catch (e) {
      S.token = '';
      $('#signin-result').textContent = 'Not signed in: ' + e.message;
    }
  });
}

async function pageProjects(main) {
  const d = await api(KL + '/projects');
  set(main, h`<h1>Projects</h1>${table('Projects of your groups', ['Project', 'Group', 'Leaderboard metric', 'Owner', 'Created'],
    (d.projects || []).map((p) => [h`<a href="#/projects/${enc(p.name)}">${p.name}</a>`, p.group, `${p.metric} (${p.direction})`, p.owner, when(p.created_at)]))}`);
}

async function pageProject(main, name) {
  const p = await api(KL + '/projects/' + enc(name));
  const [runs, board, versions] = await Promise.all([
    api(KFP + '/runs?experiment_id=' + enc(p.experiment_id) + '&page_size=20&sort_by=created_at%20desc'),
    api(KL + '/projects/' + enc(name) + '/leaderboard'),
    api(KL + '/projects/' + enc(name) + '/versions?page_size=20'),
  ]);
  set(main, h`<h1>Project ${p.name}</h1>${fields(p, ['group', 'owner', 'metric', 'direction', 'pipeline', 'description'])}
  <h2>Leaderboard</h2>${table(`Runs ranked by ${board.metric} (${board.direction})`, ['Rank', 'Run', board.metric, 'Owner'],
    (board.entries || []).map((e) => [e.rank, runLink(e.run_id, e.display_name), e.value, e.owner]))}
  <h2>Models and versions made</h2>${table('Versions the project\'s runs made, newest first', ['Version', 'Run', 'Task', 'Made'],
    (versions.versions || []).map((v) => [h`<a href="${versionHref(v.kind, v.name, v.version)}">${v.ref}</a>`, runLink(v.run_id), v.task, when(v.created_at)]))}
  <h2>Runs</h2>${runTable(runs.runs || [])}`);
  wireCompare(main);
}

function runTable(runs) {
  return h`<form id="compare-form">${table('Latest runs', ['Compare', 'Run', 'State', 'Created', 'Finished'],
    runs.map((r) => [h`<input type="checkbox" name="run" value="${r.run_id}" aria-label="Compare run ${r.display_name}">`,
      runLink(r.run_id, r.display_name), r.state, when(r.created_at), when(r.finished_at)]))}
  <button type="submit">Compare selected runs</button></form>`;
}

function wireCompare(main) {
  const f = $('#compare-form', main);
  if (!f) return;
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const ids = $$('input[name=run]:checked', f).map((i) => i.value);
    location.hash = '#/compare?run_id=' + ids.map(enc).join(',');
  });
}

async function pageRuns(main) {
  const d = await api(KFP + '/runs?page_size=50&sort_by=created_at%20desc');
  set(main, h`<h1>Runs</h1><p>Each run opens on the Pipelines UI's run page.</p>${runTable(d.runs || [])}`);
  wireCompare(main);
}

async function pageResources(main, path) {
  const d = await api(KL + '/' + path);
  const kind = KINDS[path];
  const title = path === 'code' ? 'Code' : path[0].toUpperCase() + path.slice(1);
  set(main, h`<h1>${title}</h1>${table(`${title} of your groups`, ['Name', 'Group', 'Latest version', 'Updated'],
    (d[LIST_KEY[path]] || []).map((r) => [h`<a href="#/${path}/${enc(r.name)}">${r.name}</a>`, r.group,
      r.latest_version ? h`<a href="${versionHref(kind, r.name, r.latest_version)}">v${r.latest_version}</a>` : '', when(r.updated_at)]))}`);
}

async function pageVersions(main, path, name) {
  const d = await api(KL + '/' + path + '/' + enc(name) + '/versions');
  set(main, h`<h1>${KINDS[path]} ${name}</h1>${table('Versions, oldest first', ['Version', 'SHA-256', 'Size (bytes)', 'Made by run', 'Task', 'Owner', 'Created'],
    (d.versions || []).map((v) => [h`<a href="${versionHref(v.kind, v.name, v.version)}">v${v.version}</a>`, h`<code>${short(v.sha256, 16)}</code>`,
      v.size_bytes, v.run_id ? runLink(v.run_id) : 'uploaded', v.task, v.owner, when(v.created_at)]))}`);
}

async function pageVersion(main, path, name, version) {
  const base = KL + '/' + path + '/' + enc(name) + '/versions/v' + version;
  const [v, usage, svg] = await Promise.all([api(base), api(base + '/usage?limit=' + USAGE_ROWS), api(base + '/lineage?format=svg', { raw: true })]);
  const kind = KINDS[path];
  const rows = usage.usages || [];
  const total = usage.total_size || rows.length;
  const lineage = lineageSVG(svg, v.ref);
  const collapsed = lineage.querySelectorAll('g.runs').length;
  const beyond = lineage.querySelectorAll('g[data-more]').length;
  const bounded = collapsed || beyond
    ? ` Bounded: ${collapsed ? `${collapsed} group(s) of sibling runs drawn as one counted item (open it for the list of runs)` : ''}${collapsed && beyond ? '; ' : ''}${beyond ? `${beyond} version(s) at the depth limit say "more…" (open one for its own lineage)` : ''}.`
    : '';
  set(main, h`<h1>${v.ref}</h1>${fields(v, ['group', 'owner', 'sha256', 'size_bytes', 'uri', 'task', 'created_at'])}
  ${v.run_id ? h`<p>Made by ${runLink(v.run_id)} · <a href="#/compare?run_id=${enc(v.run_id)}">metrics</a></p>` : ''}
  <h2>Lineage</h2><figure id="lineage"><figcaption>${kind === 'model' || kind === 'featureset' ? 'What made' : 'What used'} ${v.ref}: runs open in the Pipelines UI, versions here.${bounded}</figcaption></figure>
  <h2>Usage</h2>${table(rows.length < total ? `Runs that used or made ${v.ref}: the newest ${rows.length} of ${total}` : `Runs that used or made ${v.ref}`, ['Run', 'State', 'Task', 'How', 'When'],
    rows.map((u) => [runLink(u.run_id), u.state, u.task, u.how, when(u.created_at)]))}`);
  $('#lineage', main).appendChild(lineage);
}

// USAGE_ROWS is how many of a version's newest usages its page lists.
const USAGE_ROWS = 50;

// lineageSVG is the server's lineage picture with its runs and versions
// made links: runs to the Pipelines UI's run page, versions to theirs.
function lineageSVG(text, ref) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const svg = document.importNode(doc.documentElement, true);
  svg.setAttribute('role', 'group');
  svg.setAttribute('aria-label', 'Lineage of ' + ref);
  for (const g of Array.from(svg.querySelectorAll('g[data-id]'))) {
    const id = g.getAttribute('data-id');
    const colon = id.indexOf(':');
    const kind = id.slice(0, colon);
    const rest = id.slice(colon + 1);
    let href;
    let label;
    if (kind === 'run') {
      href = uiRun(rest);
      label = 'Run ' + ((g.querySelector('title') || {}).textContent || rest).split('\n')[0].replace(/^run /, '');
    } else if (kind === 'runs') {
      // runs:KIND:NAME@vN/used|made/TASK — sibling runs drawn as one item:
      // their version's page lists them.
      const [ref, how, ...task] = rest.split('/');
      const c = ref.indexOf(':');
      const at = ref.lastIndexOf('@v');
      if (c < 0 || at < 0) continue;
      href = versionHref(ref.slice(0, c), ref.slice(c + 1, at), ref.slice(at + 2));
      label = ((g.querySelector('title') || {}).textContent || '').split('\n')[0] + ` that ${how} ${ref.slice(c + 1)} in task ${task.join('/')}: the list`;
    } else {
      const at = rest.lastIndexOf('@v');
      if (at < 0) continue;
      href = versionHref(kind, rest.slice(0, at), rest.slice(at + 2));
      label = kind + ' ' + rest;
    }
    const a = document.createElementNS('http://www.w3.org/2000/svg', 'a');
    a.setAttribute('href', href);
    a.setAttribute('aria-label', label);
    g.parentNode.insertBefore(a, g);
    a.appendChild(g);
  }
  return svg;
}

async function pageCatalog(main) {
  const publish = can('publish');
  const [cat, models] = await Promise.all([api(KL + '/catalog'), publish ? api(KL + '/models') : Promise.resolve({ models: [] })]);
  const entries = cat.models || [];
  const published = new Set(entries.map((e) => e.name + '@v' + e.version));
  const candidates = (models.models || []).filter((m) => m.latest_version && !published.has(m.name + '@v' + m.latest_version));
  set(main, h`<h1>Model catalog</h1>${table('Published model versions', ['Model version', 'Metrics', 'Trained on', 'Published by', 'Published'],
    entries.map((e) => [h`<a href="${versionHref('model', e.name, e.version)}">${e.name}@v${e.version}</a>`,
      (e.metrics || []).map((m) => `${m.name}=${typeof m.number_value === 'number' ? +m.number_value.toPrecision(4) : m.number_value}`).join(', '),
      ((e.lineage || {}).datasets || []).join(', '), e.published_by, when(e.published_at)]))}
  ${publish ? h`<h2>Publish</h2>${table('Latest model versions not in the catalog', ['Model version', 'Group', 'Action'],
    candidates.map((m) => [h`<a href="${versionHref('model', m.name, m.latest_version)}">${m.name}@v${m.latest_version}</a>`, m.group,
      h`<button type="button" class="publish" data-name="${m.name}" data-version="${m.latest_version}">Publish ${m.name}@v${m.latest_version}</button>`]))}` : ''}
  ${can('deploy') && entries.length ? h`<h2>Deploy</h2>${deployForm(entries, null)}` : ''}`);
  for (const b of $$('button.publish', main)) {
    b.addEventListener('click', () => act(async () => {
      await api(KL + '/models/' + enc(b.dataset.name) + '/versions/v' + b.dataset.version + ':publish', { method: 'POST', body: {} });
      await route();
    }));
  }
  wireDeployForm(main); // deploy.js
}

async function pageDeployments(main) {
  const d = await api(KL + '/deployments');
  set(main, h`<h1>Deployments</h1>${actionResult()}${table('Deployments of your groups', ['Name', 'Model', 'Canary', 'State', 'Requests', 'Endpoint'],
    (d.deployments || []).map((x) => [h`<a href="#/deployments/${enc(x.name)}">${x.name}</a>`, x.model,
      x.canary ? `${x.canary} (${x.canary_traffic_percent}%)` : '', x.state, x.requests, x.url]))}`);
}

async function pageDeployment(main, name) {
  const traffic = () => api(KL + '/deployments/' + enc(name) + '/traffic?seconds=300&step=5');
  const [d, t] = await Promise.all([api(KL + '/deployments/' + enc(name)), traffic()]);
  set(main, h`<h1>Deployment ${d.name}</h1>${fields(d, ['model', 'canary', 'canary_traffic_percent', 'transformer', 'state', 'url', 'cluster', 'started_at'])}
  ${servingFields(d)}
  ${can('deploy') && d.spec && !d.cluster ? h`<p><a href="#/deployments/${enc(d.name)}/edit" id="edit-deployment">Change deployment ${d.name}</a></p>` : ''}
  ${can('deploy') ? h`<button type="button" id="stop-deployment">Stop deployment ${d.name}</button>` : ''}
  <h2>Requests and latency, last 5 minutes (live)</h2><div id="traffic"></div>`);
  const stop = $('#stop-deployment', main);
  if (stop) {
    stop.addEventListener('click', () => act(async () => { // its owner or an operator: the API decides
      await api(KL + '/deployments/' + enc(name) + ':stop', { method: 'POST', body: {} });
      history.replaceState(null, '', '#/deployments'); // the page of a stopped deployment is gone
      await done(h`Deployment ${name} stopped.`);
    }));
  }
  const draw = (tr) => {
    const pts = tr.points || [];
    const at = (p) => Date.parse(p.at) / 1000;
    const total = pts.reduce((n, p) => n + p.requests, 0);
    const errors = pts.reduce((n, p) => n + p.errors, 0);
    const el = $('#traffic', main);
    if (!el) return;
    el.dataset.totalRequests = total;
    el.innerHTML = part(h`${chart({ title: `Requests of ${name} per 5 s and latency (ms), last 5 minutes`, yLabel: 'latency ms (bars: requests)',
      bars: { name: 'requests', color: '#0b57d0', points: pts.map((p) => [at(p), p.requests]) },
      series: [{ name: 'mean latency ms', color: '#1a7f37', points: pts.filter((p) => p.requests).map((p) => [at(p), p.latency_mean_ms]) },
        { name: 'max latency ms', color: '#b3261e', dash: true, points: pts.filter((p) => p.requests).map((p) => [at(p), p.latency_max_ms]) }] })}
      <p role="status" id="traffic-total">${total} requests, ${errors} errors in the last 5 minutes</p>`);
  };
  // Redrawn when the deployment changes (a request served, stopped) and
  // when its oldest request leaves the 5-minute window.
  let aging;
  const redraw = async () => {
    let tr;
    try {
      tr = await traffic();
    } catch (e) {
      if (e.status === 404) { await route(); return false; } // stopped: its page says so
      throw e;
    }
    draw(tr);
    clearTimeout(aging);
    const first = (tr.points || []).find((p) => p.requests > 0);
    if (first) {
      aging = setTimeout(() => redraw().catch((e) => showError(e.message)), Math.max(1000, Date.parse(first.at) + (tr.seconds + tr.step_seconds) * 1000 - Date.now()));
      S.timers.push(aging);
    }
    return true;
  };
  draw(t);
  follow(['deployment'], (c) => c.kind === 'deployment' && c.id === name, redraw, 2000); // live.js
}

async function pagePools(main) {
  const d = await api(KL + '/pools?history_seconds=3600');
  const pools = d.pools || [];
  const nodes = [...new Set(pools.flatMap((p) => (p.nodes || []).map((n) => n.name)))].sort();
  const operate = can('operate');
  set(main, h`<h1>GPU pools</h1>${operate ? actionResult() : ''}<p>${d.cluster_gpus ?? ''} GPUs in the cluster. <a href="#/queue">The queue</a> says why runs wait.</p>
  <div class="cards">${pools.map((p) => h`<section class="card" aria-labelledby="pool-${p.name}"><h2 id="pool-${p.name}">Pool ${p.name}${p.gpu_type ? ' (' + p.gpu_type + ')' : ''}</h2>
    <div class="pool-live" data-pool="${p.name}">${poolLive(p, d)}</div>
    ${operate && !p.default ? h`<form class="inline pool-form" data-pool="${p.name}" data-type="${p.gpu_type || ''}">${nodes.map((n) => h`<label for="gpus-${p.name}-${n}">GPUs of ${p.name} on node ${n}
      <input type="number" min="0" id="gpus-${p.name}-${n}" data-node="${n}" value="${((p.nodes || []).find((x) => x.name === n) || { gpus: 0 }).gpus}"></label>`)}
      <button type="submit">Save pool ${p.name}</button>
      <button type="button" class="delete-pool" data-pool="${p.name}">Delete pool ${p.name}</button></form>` : ''}</section>`)}</div>
  ${operate ? poolAdmin(nodes) : ''}`);
  if (operate) wirePoolAdmin(main); // operator.js
  // Live: each card's summary and chart are drawn again when a pool
  // changes (the forms stay as the operator left them); another set of
  // pools draws the page again.
  const names = (x) => (x.pools || []).map((p) => p.name).join(',');
  follow(['pool'], () => true, async () => {
    const n = await api(KL + '/pools?history_seconds=3600');
    if (names(n) !== names(d)) { whenFree(main, () => route()); return false; }
    for (const p of n.pools || []) {
      const el = $$('.pool-live', main).find((x) => x.dataset.pool === p.name);
      if (el) el.innerHTML = part(poolLive(p, n));
    }
    return true;
  }, 2000);
  for (const f of $$('form.pool-form', main)) {
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(async () => {
        const ns = $$('input[data-node]', f).map((i) => ({ name: i.dataset.node, gpus: Number(i.value) })).filter((n) => n.gpus > 0);
        await api(KL + '/pools/' + enc(f.dataset.pool), { method: 'PATCH', body: { gpu_type: f.dataset.type, nodes: ns } });
        await done(h`Pool ${f.dataset.pool} saved.`);
      });
    });
  }
}

// poolSummary says what a pool holds. The default pool holds every GPU no
// other pool was given: with none left it says where they are, not "0 of 0".
function poolSummary(p, clusterGPUs, pools) {
  const named = p.groups && p.groups.length; // operators see which groups use a pool
  if (!p.default || p.total_gpus > 0) {
    return h`<p>${p.used_gpus} of ${p.total_gpus} GPUs in use, ${p.queued_runs} runs waiting${named ? ', groups ' + p.groups.join(', ') : ''}.</p>`;
  }
  const waiting = `${named ? 'runs of groups ' + p.groups.join(', ') : 'runs on it'} that need GPUs wait (${p.queued_runs} now)`;
  if (!clusterGPUs) return h`<p id="default-pool-empty">The cluster has no GPUs: ${waiting}.</p>`;
  const others = pools.filter((x) => !x.default && x.total_gpus > 0).map((x) => x.name);
  return h`<p id="default-pool-empty">No GPUs left for the default pool: all ${clusterGPUs} of the cluster's GPUs are in ${others.length === 1 ? 'pool' : 'pools'} ${others.join(', ')}. It gets GPUs back when an operator takes them from another pool; until then, ${waiting}.</p>`;
}

function poolLive(p, d) {
  return h`${poolSummary(p, d.cluster_gpus, d.pools || [])}${poolChart(p)}`;
}

function poolChart(p) {
  const hist = p.history || [];
  const now = Date.now() / 1000;
  const step = (key) => {
    const out = [];
    hist.forEach((s, i) => {
      const t = Math.max(Date.parse(s.at) / 1000, now - 3600);
      if (i > 0) out.push([t, hist[i - 1][key]]);
      out.push([t, s[key]]);
    });
    if (hist.length) out.push([now, hist[hist.length - 1][key]]);
    return out;
  };
  return chart({ title: `GPUs of pool ${p.name} in use over the last hour`, width: 420, height: 160, yLabel: 'GPUs',
    series: [{ name: 'total', color: '#57606a', dash: true, points: step('total_gpus') }, { name: 'in use', color: '#0b57d0', points: step('used_gpus') },
      { name: 'runs waiting', color: '#b3261e', points: step('queued_runs') }] });
}

async function pageQueue(main) {
  const draw = (d) => {
    const rows = (d.entries || []).map((e) => [e.position || '', e.kind === 'ide' ? `IDE ${e.ide}` : runLink(e.run_id, e.display_name),
      e.group, e.owner, e.pool, e.status, e.gpus, e.reason || '',
      e.status === 'Queued' ? h`<span class="waited" data-since="${Date.now() - e.waiting_seconds * 1000}">${e.waiting_seconds} s</span>` : '',
      e.can_start_anyway && e.kind === 'run' ? h`<button type="button" class="start" data-run="${e.run_id}">Start ${e.display_name} anyway</button>` : '']);
    set(main, h`<h1>Queue</h1><p>Runs waiting for GPUs in their pool's order, and what holds GPUs. Updated as runs start, end and wait.</p>
    ${table('Waiting and running', ['Place', 'Run', 'Group', 'Owner', 'Pool', 'Status', 'GPUs', 'Why it waits', 'Waiting', 'Action'], rows)}`);
    for (const b of $$('button.start', main)) {
      b.addEventListener('click', () => act(async () => {
        await api(KL + '/runs/' + enc(b.dataset.run) + ':start_anyway', { method: 'POST', body: {} });
        draw(await api(KL + '/queue'));
      }));
    }
  };
  draw(await api(KL + '/queue'));
  tickWaits(main); // live.js
  follow(['run', 'ide'], () => true, async () => {
    const d = await api(KL + '/queue');
    whenFree(main, () => draw(d));
  }, 2000);
}

// busy says whether the keyboard is on a control of the page, which a
// live redraw would take away.
function busy(main) {
  const a = document.activeElement;
  return !!a && a !== main && main.contains(a);
}

async function pageHPOList(main) {
  const d = await api(KL + '/hpo/experiments');
  set(main, h`<h1>HPO experiments</h1>${table('Experiments of your groups, newest first', ['Experiment', 'Run', 'Group', 'State', 'Created', 'Finished'],
    (d.experiments || []).map((e) => [h`<a href="#/hpo/${enc(e.run_id)}">${e.name}</a>`, runLink(e.run_id, e.display_name), e.group, e.state,
      when(e.created_at), when(e.finished_at)]))}`);
}

async function pageHPO(main, id) {
  const get = () => api(KL + '/hpo/experiments/' + enc(id));
  const draw = (e) => {
    const vals = [];
    e.trials.forEach((t, i) => { if (t.value !== undefined) vals.push([i + 1, t.value]); });
    const best = [];
    e.best_so_far.forEach((b, i) => { if (b !== null) best.push([i + 1, b]); });
    const cond = (e.conditions || []).slice(-1)[0];
    set(main, h`<h1>HPO experiment ${e.name}</h1>
    ${fields(e, ['display_name', 'group', 'status', 'state', 'algorithm', 'objective', 'direction', 'goal', 'max_trials', 'parallel_trials'])}
    <p role="status" id="hpo-progress">${e.trials.length} of ${e.max_trials} trials${cond ? ' · ' + cond.type + ': ' + (cond.message || cond.reason || '') : ''}.
      ${FINAL.includes(e.state) ? '' : 'Updating as trials run.'} ${runLink(e.run_id, 'Open the run')}</p>
    <figure>${chart({ title: `${e.objective} per trial and best so far (${e.direction})`, yLabel: e.objective,
      series: [{ name: 'trial', color: '#57606a', dots: true, points: vals }, { name: 'best so far', color: '#0b57d0', points: best }] })}</figure>
    ${table('Trials in the order they were created', ['#', 'Trial', 'State'].concat(e.parameters, [e.objective, 'Best so far']),
      e.trials.map((t, i) => [i + 1, t.name, t.state].concat(e.parameters.map((p) => t.params[p]), [t.value ?? '', e.best_so_far[i] ?? ''])))}`);
    $('#main').dataset.trials = e.trials.length;
  };
  let e = await get();
  draw(e);
  if (!FINAL.includes(e.state)) {
    follow(['run'], (c) => c.kind === 'run' && c.id === id, async () => {
      e = await get();
      const d = e;
      whenFree(main, () => draw(d));
      return !FINAL.includes(e.state);
    }, 2000);
  }
}

async function pageCompare(main, query) {
  const q = new URLSearchParams(query || '');
  const runs = q.getAll('run_id').join(',');
  const models = q.getAll('model').join(',');
  const form = h`<form class="inline" id="compare-ids"><label for="compare-runs">Run ids (comma separated)<input id="compare-runs" size="50" value="${runs}"></label>
    ${can('catalog') ? h`<label for="compare-models">Model versions (NAME@vN, comma separated)<input id="compare-models" size="30" value="${models}"></label>` : ''}
    <button type="submit">Compare</button></form>`;
  let result = h`<p class="muted">Choose runs (or model versions) to compare.</p>`;
  if (runs || models) {
    const params = [];
    if (runs) params.push('run_id=' + enc(runs));
    if (models) params.push('model=' + enc(models));
    const d = await api(KL + '/compare?' + params.join('&'));
    const cols = d.runs || [];
    result = table('Metrics side by side', ['Metric'].concat(cols.map((r) => r.model_version || r.display_name)),
      [['run'].concat(cols.map((r) => runLink(r.run_id, r.display_name))), ['state'].concat(cols.map((r) => r.state)), ['owner'].concat(cols.map((r) => r.owner))]
        .concat((d.metrics || []).map((m) => [m].concat(cols.map((r) => ((r.metrics || {})[m] ?? ''))))));
  }
  set(main, h`<h1>Compare</h1>${form}${result}`);
  $('#compare-ids', main).addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = [];
    const r = $('#compare-runs').value.trim();
    const m = $('#compare-models') ? $('#compare-models').value.trim() : '';
    if (r) p.push('run_id=' + enc(r));
    if (m) p.push('model=' + enc(m));
    location.hash = '#/compare?' + p.join('&');
  });
}

async function pageIDEs(main) {
  const d = await api(KL + '/ides');
  set(main, h`<h1>IDEs</h1>${table('IDEs of your groups', ['Name', 'Group', 'Owner', 'Status', 'GPUs', 'URL'],
    (d.ides || []).map((i) => [i.name, i.group, i.owner, i.status, i.gpus, i.url ? h`<a href="${i.url}">${i.url}</a>` : '']))}`);
}

// pageUsers, pageGroups and pageImages are in operator.js.

window.addEventListener('hashchange', () => { route().then(() => { const m = $('#main'); if (m && !m.contains(document.activeElement)) m.focus(); }); });
$('#skip').addEventListener('click', (ev) => { ev.preventDefault(); $('#main').focus(); });
route();
