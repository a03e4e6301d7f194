// kubeline console: the Deploy form (on the catalog page, and prefilled on
// a deployment's edit page) and what a deployment's page says of how it is
// served. Loaded before console.js, whose helpers (h, api, act, ...) these
// functions call when they run. The form sends a kind: Deployment document
// (compiler/deploy) to the API, which checks it: a 400 names each bad field
// (spec.resources.requests.memory: ...), and the form shows every message
// at the field it names.
'use strict';

// DEPLOY_FIELDS maps the API's field paths to the form's inputs; the
// longest path that starts a message's path wins.
const DEPLOY_FIELDS = [
  ['metadata.name', 'deploy-name'], ['spec.model', 'deploy-model'],
  ['spec.predictor.image', 'deploy-image'], ['spec.predictor.protocol', 'deploy-protocol'], ['spec.predictor.env', 'deploy-env'],
  ['spec.predictor', 'deploy-command'], ['spec.transformer.image', 'deploy-transformer-image'], ['spec.transformer', 'deploy-transformer-command'],
  ['spec.canary.trafficPercent', 'deploy-canary-percent'], ['spec.canary', 'deploy-canary'],
  ['spec.replicas', 'deploy-min-replicas'], ['spec.minReplicas', 'deploy-min-replicas'], ['spec.maxReplicas', 'deploy-max-replicas'],
  ['spec.resources.requests.cpu', 'deploy-cpu-request'], ['spec.resources.limits.cpu', 'deploy-cpu-limit'],
  ['spec.resources.requests.memory', 'deploy-memory-request'], ['spec.resources.limits.memory', 'deploy-memory-limit'],
  ['spec.resources.requests.gpus', 'deploy-gpu-request'], ['spec.resources.limits.gpus', 'deploy-gpu-limit'], ['spec.resources', 'deploy-cpu-request'],
];

function deployFieldOf(path) {
  let best = null;
  for (const [p, id] of DEPLOY_FIELDS) {
    const starts = path === p || path.startsWith(p + '.') || path.startsWith(p + '[');
    if (starts && (!best || p.length > best[0].length)) best = [p, id];
  }
  return best && best[1];
}

// replicaRange is compiler/deploy's: the predictor's least and most replicas.
function replicaRange(sp) {
  if (sp.replicas != null) return [sp.replicas, sp.replicas];
  const lo = sp.minReplicas;
  const hi = sp.maxReplicas;
  if (lo != null && hi != null) return [lo, hi];
  if (lo != null) return [lo, Math.max(lo, 1)];
  if (hi != null) return [Math.min(1, hi), hi];
  return [1, 1];
}

// sides is a deployment's resource requests and limits (cpu, memory and
// gpus alone set both).
function sides(r) {
  r = r || {};
  if (!r.requests && !r.limits) return [r, r];
  return [r.requests || {}, r.limits || {}];
}

// deployForm is the Deploy form over the catalog's entries, prefilled from
// d (a GET of the deployment) when it changes one.
function deployForm(entries, d) {
  const sp = (d && d.spec) || {};
  const p = sp.predictor || { image: 'python:3.12-slim' };
  const t = sp.transformer || { image: 'python:3.12-slim' };
  const [req, lim] = sides(sp.resources);
  const models = entries.map((e) => `${e.name}@v${e.version}`);
  if (sp.model && !models.includes(sp.model)) models.unshift(sp.model);
  const opt = (v, label, sel) => h`<option value="${v}"${new Safe(v === sel ? ' selected' : '')}>${label}</option>`;
  const val = (v) => (v === undefined || v === null || v === 0 ? '' : v);
  const words = (c) => (c ? (c.command || []).concat(c.args || []).join(' ') : '');
  const lo = sp.replicas ?? sp.minReplicas;
  const hi = sp.replicas ?? sp.maxReplicas;
  // field is a labelled control and the place for the API's word on it.
  const field = (id, label, control) => h`<span class="field"><label for="${id}">${label}${control}</label><span class="field-error" id="${id}-error" hidden></span></span>`;
  const text = (id, label, v, attrs = '') => field(id, label, h`<input id="${id}" value="${v ?? ''}"${new Safe(attrs)}>`);
  const num = (id, label, v, lo0, hi0) => field(id, label, h`<input id="${id}" type="number" min="${lo0}" max="${hi0}" step="1" value="${val(v)}">`);
  const canary = sp.canary || {};
  return h`<form class="inline" id="deploy-form" novalidate>
    ${field('deploy-model', 'Model version', h`<select id="deploy-model" required>${models.map((m) => opt(m, m, sp.model))}</select>`)}
    ${d ? field('deploy-name', 'Deployment name', h`<input id="deploy-name" value="${d.name}" readonly>`)
    : text('deploy-name', 'Deployment name', '', ' required pattern="[a-z0-9][a-z0-9-]*"')}
    ${text('deploy-command', 'Predictor command', words(sp.predictor), ' required size="40" placeholder="python3 /srv/predictor.py"')}
    ${text('deploy-image', 'Predictor image', p.image)}
    ${field('deploy-protocol', 'Protocol', h`<select id="deploy-protocol">${[['v1', 'v1 (KServe V1)'], ['v2', 'v2 (Open Inference)']].map(([v, l]) => opt(v, l, p.protocol || 'v1'))}</select>`)}
    ${field('deploy-env', 'Environment, one NAME=value a line', h`<textarea id="deploy-env" rows="2" cols="24">${(p.env || []).map((e) => `${e.name}=${e.value}`).join('\n')}</textarea>`)}
    <fieldset><legend>Replicas (KServe scales between them)</legend>
      ${num('deploy-min-replicas', 'Fewest replicas', lo, 0, 100)}${num('deploy-max-replicas', 'Most replicas', hi, 1, 100)}</fieldset>
    <fieldset><legend>Resources of each replica (CPU as 500m or 2, memory as 512Mi or 1Gi)</legend>
      ${text('deploy-cpu-request', 'CPU request', req.cpu, ' size="6"')}${text('deploy-cpu-limit', 'CPU limit', lim.cpu, ' size="6"')}
      ${text('deploy-memory-request', 'Memory request', req.memory, ' size="6"')}${text('deploy-memory-limit', 'Memory limit', lim.memory, ' size="6"')}
      ${num('deploy-gpu-request', 'GPU request', req.gpus, 0, 64)}${num('deploy-gpu-limit', 'GPU limit', lim.gpus, 0, 64)}</fieldset>
    <fieldset><legend>Transformer (optional: pre- and postprocessing)</legend>
      ${text('deploy-transformer-command', 'Transformer command', words(sp.transformer), ' size="36" placeholder="python3 /srv/transformer.py"')}
      ${text('deploy-transformer-image', 'Transformer image', t.image)}</fieldset>
    <fieldset><legend>Canary (optional: a share of the traffic to another version)</legend>
      ${field('deploy-canary', 'Canary model version', h`<select id="deploy-canary"><option value="">No canary</option>${models.map((m) => opt(m, m, canary.model))}</select>`)}
      ${num('deploy-canary-percent', 'Canary traffic (%)', canary.trafficPercent || 10, 1, 99)}</fieldset>
    <button class="primary" type="submit">${d ? 'Save deployment ' + d.name : 'Deploy'}</button>
    <div id="deploy-errors" class="notice" role="alert" hidden></div></form>`;
}

// deploymentDoc is the kind: Deployment document the form describes.
function deploymentDoc(f) {
  const v = (id) => $('#' + id, f).value.trim();
  const words = (id) => v(id).split(/\s+/).filter(Boolean);
  const int = (id) => (v(id) === '' ? undefined : Number(v(id)));
  const env = $('#deploy-env', f).value.split('\n').filter((l) => l.trim()).map((l) => {
    const i = l.indexOf('=');
    return i < 0 ? { name: l.trim(), value: '' } : { name: l.slice(0, i).trim(), value: l.slice(i + 1) };
  });
  const protocol = v('deploy-protocol');
  const spec = { model: v('deploy-model'), target: 'local', predictor: { image: v('deploy-image'), command: words('deploy-command'), protocol } };
  if (env.length) spec.predictor.env = env;
  if (words('deploy-transformer-command').length) {
    spec.transformer = { image: v('deploy-transformer-image'), command: words('deploy-transformer-command'), protocol };
  }
  if (v('deploy-canary')) spec.canary = { model: v('deploy-canary'), trafficPercent: int('deploy-canary-percent') };
  if (int('deploy-min-replicas') !== undefined) spec.minReplicas = int('deploy-min-replicas');
  if (int('deploy-max-replicas') !== undefined) spec.maxReplicas = int('deploy-max-replicas');
  const side = (which) => {
    const out = {};
    if (v(`deploy-cpu-${which}`)) out.cpu = v(`deploy-cpu-${which}`);
    if (v(`deploy-memory-${which}`)) out.memory = v(`deploy-memory-${which}`);
    if (int(`deploy-gpu-${which}`)) out.gpus = int(`deploy-gpu-${which}`);
    return Object.keys(out).length ? out : undefined;
  };
  const requests = side('request');
  const limits = side('limit');
  if (requests || limits) spec.resources = { requests, limits };
  return { apiVersion: 'kubeline.io/v1alpha1', kind: 'Deployment', metadata: { name: v('deploy-name') }, spec };
}

// showDeployErrors puts each line of the API's refusal at the field it
// names (and every line in the form's summary); false when the refusal is
// not about the form's input.
function showDeployErrors(f, e) {
  if (e.status !== 400 && e.status !== 409) return false;
  const summary = $('#deploy-errors', f);
  const lines = String(e.message).split('\n').filter(Boolean);
  for (const line of lines) {
    const m = line.match(/(metadata\.name|spec(?:\.[A-Za-z]+|\[\d+\])*)/);
    const id = (m && deployFieldOf(m[1])) || (e.status === 409 ? 'deploy-name' : null);
    const at = id && $('#' + id + '-error', f);
    if (!at) continue;
    at.textContent = (at.hidden ? '' : at.textContent + ' ') + line;
    at.hidden = false;
    $('#' + id, f).setAttribute('aria-invalid', 'true');
    $('#' + id, f).setAttribute('aria-describedby', id + '-error');
  }
  summary.textContent = `Not deployed (HTTP ${e.status}): ${lines.join(' · ')}`;
  summary.hidden = false;
  const first = $('[aria-invalid="true"]', f);
  (first || summary).focus();
  return true;
}

function clearDeployErrors(f) {
  for (const el of $$('.field-error', f)) { el.textContent = ''; el.hidden = true; }
  for (const el of $$('[aria-invalid]', f)) { el.removeAttribute('aria-invalid'); el.removeAttribute('aria-describedby'); }
  $('#deploy-errors', f).hidden = true;
}

// wireDeployForm sends the form; the deployment's page opens when it runs.
function wireDeployForm(main) {
  const f = $('#deploy-form', main);
  if (!f) return;
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearDeployErrors(f);
    act(async () => {
      const doc = deploymentDoc(f);
      try {
        await api(KL + '/deployments', { method: 'POST', body: doc });
      } catch (e) {
        if (showDeployErrors(f, e)) return;
        throw e;
      }
      const to = '#/deployments/' + enc(doc.metadata.name);
      if (location.hash === to) await route(); else location.hash = to;
    });
  });
}

// pageDeploymentEdit is the Deploy form of a deployment, prefilled with
// what it runs: saving replaces it (its owner or an operator may).
async function pageDeploymentEdit(main, name) {
  const [d, c] = await Promise.all([api(KL + '/deployments/' + enc(name)), api(KL + '/catalog')]);
  const why = !can('deploy') ? 'Changing a deployment needs the deploy permission (a Production Engineer\'s).'
    : d.cluster ? `Deployment ${name} runs on cluster ${d.cluster}: change it with kubeline deploy FILE --cluster ${d.cluster}.`
      : !d.spec ? `Deployment ${name} was imported: kubeline has no Deployment document of it to change.` : '';
  set(main, h`<h1>Change deployment ${name}</h1>${why ? h`<p class="notice" role="status" id="notice">${why}</p>`
    : h`<p>Saving replaces the running deployment with these settings. <a href="#/deployments/${enc(name)}">Back to deployment ${name}</a></p>${deployForm(c.models || [], d)}`}`);
  wireDeployForm(main);
}

// servingFields says how a deployment is served: replicas, each
// replica's resources, the protocol and the environment.
function servingFields(d) {
  const sp = d.spec;
  if (!sp) return '';
  const [lo, hi] = replicaRange(sp);
  const [req, lim] = sides(sp.resources);
  const resource = (k) => {
    const a = req[k] || '';
    const b = lim[k] || '';
    if (a && b) return String(a) === String(b) ? `${a} (request and limit)` : `request ${a}, limit ${b}`;
    if (a) return `request ${a}, no limit`;
    if (b) return `limit ${b} (the request is the limit)`;
    return 'not set';
  };
  const p = sp.predictor || {};
  const rows = [['Replicas', lo === hi ? String(lo) : `${lo} to ${hi}`], ['CPU', resource('cpu')], ['Memory', resource('memory')],
    ['GPUs', resource('gpus')], ['Protocol', p.protocol || 'v1'], ['Environment', (p.env || []).map((e) => `${e.name}=${e.value}`).join(', ') || 'none added']];
  const asked = sp.replicas != null || sp.minReplicas != null || sp.maxReplicas != null || sp.resources;
  const local = !d.cluster && (sp.target || 'local') === 'local';
  return h`<h2>Serving</h2><dl class="fields" id="deployment-spec">${rows.map(([k, v]) => h`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
  ${local && asked ? h`<p class="muted" id="deployment-spec-note">This server runs one process of each; the replicas and resources apply where KServe serves the deployment (kubeline deploy FILE --cluster NAME).</p>` : ''}`;
}
