#!/usr/bin/env node
// A small, generic, in-memory stand-in for the Kubernetes API server, over plain HTTP on
// 127.0.0.1, good enough for kube-rs' client, watcher and controller. For benchmarks only
// (scripts/operator-rss): no auth, no admission, no validation, no garbage collection.
//
//   node scripts/bench/apiserver.mjs [--port N] [--port-file FILE] [--seed scale]
//                                    [--no-managed-fields] [--log-requests]
//                                    [--deployment-ready-ms MS] [--orgs N] [--members M]
//
// --port 0 (the default; or env APISERVER_PORT) picks a free port; the chosen port is printed
// ("listening on http://127.0.0.1:PORT") and written to --port-file.
//
// What it does: objects keyed by (group/version, plural, namespace, name) under /api/v1 and
// /apis/<group>/<version>, namespaced and cluster-scoped, with the /status subresource; list
// (labelSelector, fieldSelector on metadata.name/namespace; limit/continue ignored: one page),
// get, create, replace (resourceVersion conflicts), patch (server-side apply with per-manager
// field removal, merge, strategic merge treated as merge, JSON patch), delete (finalizers and
// deletionTimestamp honoured) and deletecollection; watch from a resourceVersion (full history
// is kept, so no 410), with bookmarks and timeoutSeconds; metadata-only (PartialObjectMetadata)
// answers when the Accept header asks; managedFields approximated (atomic lists) so objects
// are about the size a real API server returns. A Deployment's status turns ready
// --deployment-ready-ms (default 500) after its spec changes, as if pods had started.
//
// Bench endpoints: POST|DELETE /_bench/organizations/<from>/<to> (bulk create or delete of the
// scale seed's Organizations), GET /_bench/stats (request counts), GET /_bench/ready/<ns>/<name> (the Ready
// condition of a Vestibule as "True|False|Unknown <reason> <message>").

import http from 'node:http';
import fs from 'node:fs';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const flag = (name) => argv.includes(name);
const PORT = Number(opt('--port', process.env.APISERVER_PORT ?? '0'));
const PORT_FILE = opt('--port-file', null);
const SEED = opt('--seed', null);
const MANAGED_FIELDS = !flag('--no-managed-fields');
const LOG_REQUESTS = flag('--log-requests');
// How long after a Deployment's spec changes its replicas report ready (-1: never).
const DEPLOYMENT_READY_MS = Number(opt('--deployment-ready-ms', '500'));
// The scale seed's size: --orgs Organizations (default 1000), each with --members members.
const SEED_ORGS = Number(opt('--orgs', '1000'));
const SEED_MEMBERS = Number(opt('--members', '1'));

const log = (...a) => process.stderr.write(`[apiserver] ${a.join(' ')}\n`);

// ---------------------------------------------------------------- resource registry

// plural -> kind, scope, per group/version. Unknown resources get a 404 and a log line.
const RESOURCES = {
  v1: {
    namespaces: ['Namespace', false],
    secrets: ['Secret', true],
    configmaps: ['ConfigMap', true],
    serviceaccounts: ['ServiceAccount', true],
    services: ['Service', true],
    persistentvolumeclaims: ['PersistentVolumeClaim', true],
    pods: ['Pod', true],
    events: ['Event', true],
    endpoints: ['Endpoints', true],
  },
  'apps/v1': { deployments: ['Deployment', true], statefulsets: ['StatefulSet', true], replicasets: ['ReplicaSet', true] },
  'rbac.authorization.k8s.io/v1': {
    roles: ['Role', true],
    rolebindings: ['RoleBinding', true],
    clusterroles: ['ClusterRole', false],
    clusterrolebindings: ['ClusterRoleBinding', false],
  },
  'networking.k8s.io/v1': { ingresses: ['Ingress', true] },
  'policy/v1': { poddisruptionbudgets: ['PodDisruptionBudget', true] },
  'coordination.k8s.io/v1': { leases: ['Lease', true] },
  'events.k8s.io/v1': { events: ['Event', true] },
  'apiextensions.k8s.io/v1': { customresourcedefinitions: ['CustomResourceDefinition', false] },
  'vestibule.dev/v1alpha1': {
    vestibules: ['Vestibule', true],
    organizations: ['Organization', true],
    applications: ['Application', true],
    oauthproviders: ['OAuthProvider', true],
    themes: ['Theme', true],
    mfapolicies: ['MfaPolicy', true],
  },
};

// ---------------------------------------------------------------- state

let rv = 1; // global resourceVersion
const store = new Map(); // `${gv}/${plural}` -> Map(`${ns}/${name}` -> object)
const applied = new Map(); // `${gv}/${plural}/${ns}/${name}/${sub}/${manager}` -> last applied body
const appliedKeys = new Map(); // `${gv}/${plural}/${ns}/${name}/` -> its keys in `applied`, so a delete is O(1)
function rememberApplied(key, body) {
  applied.set(key, body);
  const object = key.split('/').slice(0, -2).join('/') + '/';
  if (!appliedKeys.has(object)) appliedKeys.set(object, new Set());
  appliedKeys.get(object).add(key);
}
const history = []; // {rv, gv, plural, ns, type, object, previous}
const watchers = new Set();
const stats = { requests: 0, byVerb: {}, writes: 0, writesByKind: {}, unknown: 0, watchesOpened: 0, simulatedWrites: 0 };
let uidCounter = 0;

const table = (gv, plural) => {
  const key = `${gv}/${plural}`;
  let t = store.get(key);
  if (!t) store.set(key, (t = new Map()));
  return t;
};
const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const newUid = () => {
  uidCounter += 1;
  const hex = uidCounter.toString(16).padStart(12, '0');
  return `b3e1c0de-0000-4000-8000-${hex}`;
};

// ---------------------------------------------------------------- helpers: JSON

function deepMerge(target, patch) {
  // RFC 7386 merge: objects merge, null deletes, everything else (arrays too) replaces.
  if (!isObj(patch)) return clone(patch);
  const out = isObj(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isObj(v)) out[k] = deepMerge(isObj(out[k]) ? out[k] : {}, v);
    else out[k] = clone(v);
  }
  return out;
}

// Server-side apply, approximated: fields the same manager applied last time and no longer
// applies are removed; then the new configuration is merged in (lists are atomic).
function prune(target, previous, next) {
  if (!isObj(target) || !isObj(previous)) return;
  for (const [k, pv] of Object.entries(previous)) {
    if (!isObj(next) || !(k in next) || next[k] === null) {
      delete target[k];
    } else if (isObj(pv) && isObj(next[k])) {
      prune(target[k], pv, next[k]);
    }
  }
}

function unescapePointer(s) {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}
function parsePointer(path) {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map(unescapePointer);
}
class PatchError extends Error {}
function getAt(doc, tokens) {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObj(cur)) cur = cur[t];
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}
function jsonEqual(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}
function applyJsonPatch(doc, ops) {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array');
  for (const op of ops) {
    const tokens = parsePointer(op.path ?? '');
    const parentTokens = tokens.slice(0, -1);
    const last = tokens[tokens.length - 1];
    const parent = () => {
      const p = getAt(doc, parentTokens);
      if (p === undefined || p === null || typeof p !== 'object')
        throw new PatchError(`${op.op} ${op.path}: parent does not exist`);
      return p;
    };
    switch (op.op) {
      case 'test': {
        const cur = getAt(doc, tokens);
        // As in the API server (evanphx/json-patch): a missing path tests equal to null.
        const ok = cur === undefined ? op.value === null || op.value === undefined : jsonEqual(cur, op.value);
        if (!ok) throw new PatchError(`test failed at ${op.path}: have ${JSON.stringify(cur ?? null)}`);
        break;
      }
      case 'add': {
        if (tokens.length === 0) { doc = clone(op.value); break; }
        const p = parent();
        if (Array.isArray(p)) {
          const i = last === '-' ? p.length : Number(last);
          if (!(i >= 0 && i <= p.length)) throw new PatchError(`add ${op.path}: index out of range`);
          p.splice(i, 0, clone(op.value));
        } else p[last] = clone(op.value);
        break;
      }
      case 'replace': {
        if (tokens.length === 0) { doc = clone(op.value); break; }
        const p = parent();
        if (getAt(doc, tokens) === undefined) throw new PatchError(`replace ${op.path}: missing`);
        if (Array.isArray(p)) p[Number(last)] = clone(op.value);
        else p[last] = clone(op.value);
        break;
      }
      case 'remove': {
        const p = parent();
        if (getAt(doc, tokens) === undefined) throw new PatchError(`remove ${op.path}: missing`);
        if (Array.isArray(p)) p.splice(Number(last), 1);
        else delete p[last];
        break;
      }
      case 'move':
      case 'copy': {
        const from = parsePointer(op.from ?? '');
        const value = clone(getAt(doc, from));
        if (value === undefined) throw new PatchError(`${op.op} from ${op.from}: missing`);
        if (op.op === 'move') doc = applyJsonPatch(doc, [{ op: 'remove', path: op.from }]);
        doc = applyJsonPatch(doc, [{ op: 'add', path: op.path, value }]);
        break;
      }
      default:
        throw new PatchError(`unsupported JSON patch op ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}

// ---------------------------------------------------------------- helpers: selectors

function splitTopLevel(s) {
  const parts = [];
  let depth = 0, cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) { parts.push(cur); cur = ''; } else cur += c;
  }
  if (cur.trim() !== '') parts.push(cur);
  return parts.map((p) => p.trim()).filter(Boolean);
}
function parseLabelSelector(s) {
  if (!s) return () => true;
  const reqs = splitTopLevel(s).map((term) => {
    let m;
    if ((m = term.match(/^(\S+?)\s*(==|!=|=)\s*(\S*)$/))) {
      const [, k, op, v] = m;
      return op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v;
    }
    if ((m = term.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const [, k, op, vs] = m;
      const set = new Set(vs.split(',').map((x) => x.trim()));
      return op === 'in' ? (l) => k in l && set.has(l[k]) : (l) => !(k in l) || !set.has(l[k]);
    }
    if ((m = term.match(/^!(\S+)$/))) return (l) => !(m[1] in l);
    if ((m = term.match(/^(\S+)$/))) return (l) => m[1] in l;
    throw new Error(`unparsable label selector term ${JSON.stringify(term)}`);
  });
  return (obj) => {
    const labels = obj?.metadata?.labels ?? {};
    return reqs.every((r) => r(labels));
  };
}
function parseFieldSelector(s) {
  if (!s) return () => true;
  const reqs = splitTopLevel(s).map((term) => {
    const m = term.match(/^(\S+?)\s*(==|!=|=)\s*(\S*)$/);
    if (!m) throw new Error(`unparsable field selector term ${JSON.stringify(term)}`);
    const [, path, op, v] = m;
    const get = (o) => String(path.split('.').reduce((a, k) => (a == null ? a : a[k]), o) ?? '');
    return op === '!=' ? (o) => get(o) !== v : (o) => get(o) === v;
  });
  return (obj) => reqs.every((r) => r(obj));
}

// ---------------------------------------------------------------- helpers: objects

function fieldSet(v) {
  const out = {};
  if (!isObj(v)) return out;
  for (const [k, val] of Object.entries(v)) {
    out[`f:${k}`] = isObj(val) && Object.keys(val).length ? fieldSet(val) : {};
  }
  return out;
}
function managedFieldsFor(body) {
  const b = clone(body) ?? {};
  delete b.apiVersion;
  delete b.kind;
  if (isObj(b.metadata)) {
    for (const k of ['name', 'namespace', 'resourceVersion', 'uid', 'generation', 'creationTimestamp', 'managedFields'])
      delete b.metadata[k];
    if (!Object.keys(b.metadata).length) delete b.metadata;
  }
  return fieldSet(b);
}
function recordManager(obj, manager, operation, gv, body, subresource) {
  if (!MANAGED_FIELDS) return;
  const meta = obj.metadata;
  const list = (meta.managedFields ?? []).filter(
    (e) => !(e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '')),
  );
  const entry = { manager, operation, apiVersion: gv, time: now(), fieldsType: 'FieldsV1', fieldsV1: managedFieldsFor(body) };
  if (subresource) entry.subresource = subresource;
  list.push(entry);
  meta.managedFields = list;
}
function specOf(o) {
  const { metadata, status, ...rest } = o; // eslint-disable-line no-unused-vars
  return rest;
}
function metadataOnly(o) {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: clone(o.metadata) };
}

function status(code, reason, message, details) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details,
    code,
  };
}

// ---------------------------------------------------------------- writes and events

function emit(type, r, object, previous) {
  const ev = { rv: Number(object.metadata.resourceVersion), gv: r.gv, plural: r.plural, ns: object.metadata.namespace ?? '', type, object, previous };
  history.push(ev);
  for (const w of watchers) w.offer(ev);
}

// Commits `next` for key (ns, name) of resource r; `previous` is the stored object or undefined.
function commit(r, ns, name, next, previous, countKind = true) {
  const invalid = tooLarge(r, next);
  if (invalid) throw Object.assign(new Error(invalid.message), { status: invalid });
  rv += 1;
  const meta = next.metadata;
  meta.name = name;
  if (r.namespaced) meta.namespace = ns;
  else delete meta.namespace;
  meta.resourceVersion = String(rv);
  if (previous) {
    meta.uid = previous.metadata.uid;
    meta.creationTimestamp = previous.metadata.creationTimestamp;
    const gen = previous.metadata.generation ?? 1;
    meta.generation = jsonEqual(specOf(previous), specOf(next)) ? gen : gen + 1;
    if (previous.metadata.deletionTimestamp) meta.deletionTimestamp = previous.metadata.deletionTimestamp;
  } else {
    meta.uid = newUid();
    meta.creationTimestamp = now();
    meta.generation = 1;
  }
  next.apiVersion = r.gv;
  next.kind = r.kind;
  const t = table(r.gv, r.plural);
  const key = `${ns}/${name}`;
  if (countKind) {
    stats.writes += 1;
    stats.writesByKind[r.kind] = (stats.writesByKind[r.kind] ?? 0) + 1;
  }
  if (meta.deletionTimestamp && !(meta.finalizers?.length)) {
    t.delete(key);
    dropApplied(r, ns, name);
    emit('DELETED', r, next, previous);
    return next;
  }
  t.set(key, next);
  emit(previous ? 'MODIFIED' : 'ADDED', r, next, previous);
  if (r.plural === 'deployments' && r.gv === 'apps/v1') simulateDeployment(r, ns, name);
  return next;
}

// A stand-in for the Deployment controller and kubelets: some time after a Deployment's spec
// changes, its status says every replica is updated, ready and available. Without it the
// operator would wait forever for a ready auth server.
function simulateDeployment(r, ns, name) {
  if (DEPLOYMENT_READY_MS < 0) return;
  setTimeout(() => {
    const live = table(r.gv, r.plural).get(`${ns}/${name}`);
    if (!live || live.metadata.deletionTimestamp) return;
    const n = live.spec?.replicas ?? 1;
    const generation = live.metadata.generation;
    const old = live.status ?? {};
    if (old.observedGeneration === generation && old.readyReplicas === n && old.replicas === n) return;
    const t = now();
    const next = clone(live);
    next.status = {
      observedGeneration: generation,
      replicas: n,
      updatedReplicas: n,
      readyReplicas: n,
      availableReplicas: n,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: t, lastTransitionTime: t },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.`, lastUpdateTime: t, lastTransitionTime: t },
      ],
    };
    recordManager(next, 'kube-controller-manager', 'Update', r.gv, { status: next.status }, 'status');
    stats.simulatedWrites += 1;
    commit(r, ns, name, next, live, false);
  }, DEPLOYMENT_READY_MS);
}
function dropApplied(r, ns, name) {
  const prefix = `${r.gv}/${r.plural}/${ns}/${name}/`;
  for (const k of appliedKeys.get(prefix) ?? []) applied.delete(k);
  appliedKeys.delete(prefix);
}

function deleteObject(r, ns, name, previous) {
  if (previous.metadata.finalizers?.length) {
    if (previous.metadata.deletionTimestamp) return previous;
    const next = clone(previous);
    next.metadata.deletionTimestamp = now();
    next.metadata.deletionGracePeriodSeconds = 0;
    return commit(r, ns, name, next, previous);
  }
  rv += 1;
  const gone = clone(previous);
  gone.metadata.resourceVersion = String(rv);
  table(r.gv, r.plural).delete(`${ns}/${name}`);
  dropApplied(r, ns, name);
  stats.writes += 1;
  stats.writesByKind[r.kind] = (stats.writesByKind[r.kind] ?? 0) + 1;
  emit('DELETED', r, gone, previous);
  return gone;
}

// ---------------------------------------------------------------- watches

class Watcher {
  constructor(res, r, ns, match, metaOnly, bookmarks) {
    Object.assign(this, { res, r, ns, match, metaOnly, bookmarks, open: true });
  }
  relevant(ev) {
    return ev.gv === this.r.gv && ev.plural === this.r.plural && (this.ns === null || ev.ns === this.ns);
  }
  send(type, object) {
    if (!this.open) return;
    const o = this.metaOnly ? metadataOnly(object) : object;
    this.res.write(`${JSON.stringify({ type, object: o })}\n`);
  }
  offer(ev) {
    if (!this.relevant(ev)) return;
    const now = this.match(ev.object);
    const before = ev.previous ? this.match(ev.previous) : false;
    if (ev.type === 'DELETED') {
      if (before || now) this.send('DELETED', ev.object);
    } else if (now && before) this.send('MODIFIED', ev.object);
    else if (now) this.send('ADDED', ev.object);
    else if (before) this.send('DELETED', ev.object); // no longer matches the selector
  }
  bookmark() {
    if (!this.open || !this.bookmarks) return;
    const object = { kind: this.metaOnly ? 'PartialObjectMetadata' : this.r.kind, apiVersion: this.metaOnly ? 'meta.k8s.io/v1' : this.r.gv, metadata: { resourceVersion: String(rv) } };
    this.res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
  }
  close() {
    if (!this.open) return;
    this.open = false;
    watchers.delete(this);
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    this.res.end();
  }
}

function startWatch(req, res, r, ns, q, metaOnly) {
  let match;
  try {
    const ls = parseLabelSelector(q.get('labelSelector'));
    const fs_ = parseFieldSelector(q.get('fieldSelector'));
    match = (o) => ls(o) && fs_(o);
  } catch (e) {
    return reply(res, 400, status(400, 'BadRequest', e.message));
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  stats.watchesOpened += 1;
  const w = new Watcher(res, r, ns, match, metaOnly, ['true', '1'].includes(q.get('allowWatchBookmarks')));
  const from = q.get('resourceVersion');
  if (!from || from === '0' || q.get('sendInitialEvents') === 'true') {
    // "Any" / initial events: the current state as ADDED, then changes.
    for (const o of sortedObjects(r, ns)) if (match(o)) w.send('ADDED', o);
    if (q.get('sendInitialEvents') === 'true' && w.bookmarks) {
      const object = { kind: w.metaOnly ? 'PartialObjectMetadata' : r.kind, apiVersion: w.metaOnly ? 'meta.k8s.io/v1' : r.gv, metadata: { resourceVersion: String(rv), annotations: { 'k8s.io/initial-events-end': 'true' } } };
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
    }
  } else {
    const since = Number(from);
    if (!Number.isFinite(since)) return w.close();
    for (const ev of history) if (ev.rv > since) w.offer(ev);
  }
  watchers.add(w);
  const timeout = Number(q.get('timeoutSeconds') ?? '1800');
  w.timer = setTimeout(() => { w.bookmark(); w.close(); }, Math.max(1, timeout) * 1000);
  w.ticker = setInterval(() => w.bookmark(), 60_000);
  const gone = () => { w.open = false; watchers.delete(w); clearTimeout(w.timer); clearInterval(w.ticker); };
  req.on('close', gone);
  res.on('close', gone);
}

// ---------------------------------------------------------------- HTTP

function reply(res, code, body) {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
function notFound(res, r, name) {
  return reply(res, 404, status(404, 'NotFound', `${r.plural}${r.group ? `.${r.group}` : ''} "${name}" not found`, { name, group: r.group, kind: r.plural }));
}

function sortedObjects(r, ns) {
  const t = table(r.gv, r.plural);
  const out = [];
  for (const o of t.values()) if (ns === null || (o.metadata.namespace ?? '') === ns) out.push(o);
  out.sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  return out;
}

// Parses /api/v1/... and /apis/<group>/<version>/... into a resource request.
function route(pathname) {
  const seg = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let gv, group, rest;
  if (seg[0] === 'api' && seg[1] === 'v1') { gv = 'v1'; group = ''; rest = seg.slice(2); }
  else if (seg[0] === 'apis' && seg.length >= 3) { group = seg[1]; gv = `${seg[1]}/${seg[2]}`; rest = seg.slice(3); }
  else return null;
  if (rest.length === 0) return { discovery: true, gv, group };
  let ns = null, plural, name = null, sub = null;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && ['status', 'finalize'].includes(rest[2]))) {
    ns = rest[1]; plural = rest[2]; name = rest[3] ?? null; sub = rest[4] ?? null;
    if (rest.length > 5) return null;
  } else {
    plural = rest[0]; name = rest[1] ?? null; sub = rest[2] ?? null;
    if (rest.length > 3) return null;
  }
  const known = RESOURCES[gv]?.[plural];
  if (!known) return { unknown: true };
  const [kind, namespaced] = known;
  if (!namespaced && ns !== null) return { unknown: true };
  if (namespaced && name !== null && ns === null) return { unknown: true };
  return { gv, group, plural, kind, namespaced, ns, name, sub };
}

function discovery(res, gv) {
  const resources = Object.entries(RESOURCES[gv] ?? {}).flatMap(([plural, [kind, namespaced]]) => [
    { name: plural, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] },
    { name: `${plural}/status`, singularName: '', namespaced, kind, verbs: ['get', 'patch', 'update'] },
  ]);
  if (!RESOURCES[gv]) return false;
  reply(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources });
  return true;
}

// The API server's size limit on ConfigMaps and Secrets: 1 MiB of data (keys and values).
const DATA_LIMIT = 1024 * 1024;
function tooLarge(r, o) {
  if (r.gv !== 'v1' || !['configmaps', 'secrets'].includes(r.plural) || !isObj(o)) return null;
  let n = 0;
  for (const field of ['data', 'binaryData', 'stringData']) {
    for (const [k, v] of Object.entries(o[field] ?? {})) {
      n += k.length + (field === 'data' && r.plural === 'secrets' ? Buffer.from(String(v), 'base64').length : field === 'binaryData' ? Buffer.from(String(v), 'base64').length : Buffer.byteLength(String(v)));
    }
  }
  if (n <= DATA_LIMIT) return null;
  return status(422, 'Invalid', `${r.kind} "${o.metadata?.name}" is invalid: []: Too long: must have at most ${DATA_LIMIT} bytes`);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const q = url.searchParams;
  const accept = req.headers.accept ?? '';
  const metaOnly = /as=PartialObjectMetadata(List)?\b/.test(accept);
  stats.requests += 1;
  if (LOG_REQUESTS) log(req.method, req.url, metaOnly ? '(metadata)' : '');

  // Bench and discovery endpoints.
  if (url.pathname === '/version') {
    return reply(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0-bench', gitCommit: '', gitTreeState: 'clean', buildDate: '2025-01-01T00:00:00Z', goVersion: 'node', compiler: 'node', platform: 'linux/amd64' });
  }
  if (url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/livez') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    return res.end('ok');
  }
  if (url.pathname === '/_bench/stats') {
    let objects = 0;
    for (const t of store.values()) objects += t.size;
    return reply(res, 200, { ...stats, resourceVersion: rv, objects, openWatches: watchers.size, historyEvents: history.length });
  }
  let m;
  // Bulk changes for memory benchmarks: POST creates org-FROM..org-(TO-1), DELETE deletes them.
  if ((m = url.pathname.match(/^\/_bench\/organizations\/(\d+)\/(\d+)$/))) {
    const [from, to] = [Number(m[1]), Number(m[2])];
    const r = { gv: 'vestibule.dev/v1alpha1', plural: 'organizations', kind: 'Organization', namespaced: true };
    let changed = 0;
    for (let i = from; i < to; i++) {
      const live = table(r.gv, r.plural).get(`auth/org-${i}`);
      if (req.method === 'POST' && !live) { putOrganization(i); changed += 1; }
      if (req.method === 'DELETE' && live) { deleteObject(r, 'auth', `org-${i}`, live); changed += 1; }
    }
    return reply(res, 200, { changed });
  }
  if ((m = url.pathname.match(/^\/_bench\/ready\/([^/]+)\/([^/]+)$/))) {
    const o = table('vestibule.dev/v1alpha1', 'vestibules').get(`${m[1]}/${m[2]}`);
    const c = o?.status?.conditions?.find((x) => x.type === 'Ready');
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    return res.end(o ? `${c?.status ?? 'Unknown'} ${c?.reason ?? '-'} ${c?.message ?? ''}\n` : 'Missing\n');
  }
  if (url.pathname === '/api') return reply(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
  if (url.pathname === '/apis') {
    const groups = {};
    for (const gv of Object.keys(RESOURCES).filter((g) => g.includes('/'))) {
      const [group, version] = gv.split('/');
      (groups[group] ??= []).push({ groupVersion: gv, version });
    }
    return reply(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: Object.entries(groups).map(([name, versions]) => ({ name, versions, preferredVersion: versions[0] })) });
  }

  const r = route(url.pathname);
  if (!r || r.unknown) {
    stats.unknown += 1;
    log('unknown request:', req.method, req.url);
    return reply(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`));
  }
  if (r.discovery) {
    if (req.method === 'GET' && discovery(res, r.gv)) return;
    stats.unknown += 1;
    log('unknown request:', req.method, req.url);
    return reply(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }
  const ns = r.namespaced ? r.ns : '';
  const listNs = r.namespaced ? r.ns : null; // null: every namespace
  const verb = (v) => { stats.byVerb[v] = (stats.byVerb[v] ?? 0) + 1; };
  const out = (code, o) => reply(res, code, metaOnly ? metadataOnly(o) : o);

  if (r.sub && r.sub !== 'status') {
    stats.unknown += 1;
    log('unknown subresource:', req.method, req.url);
    return reply(res, 404, status(404, 'NotFound', `subresource ${r.sub} is not served by this stub`));
  }

  // Collections.
  if (r.name === null) {
    if (req.method === 'GET') {
      if (['true', '1'].includes(q.get('watch'))) { verb('watch'); return startWatch(req, res, r, listNs, q, metaOnly); }
      verb('list');
      let match;
      try {
        const ls = parseLabelSelector(q.get('labelSelector'));
        const fsel = parseFieldSelector(q.get('fieldSelector'));
        match = (o) => ls(o) && fsel(o);
      } catch (e) {
        return reply(res, 400, status(400, 'BadRequest', e.message));
      }
      const items = sortedObjects(r, listNs).filter(match);
      if (metaOnly) {
        return reply(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: String(rv) }, items: items.map(metadataOnly) });
      }
      return reply(res, 200, { kind: `${r.kind}List`, apiVersion: r.gv, metadata: { resourceVersion: String(rv) }, items });
    }
    if (req.method === 'POST') {
      verb('create');
      const body = parseJson(await readBody(req));
      if (!isObj(body)) return reply(res, 400, status(400, 'BadRequest', 'body is not a JSON object'));
      const name = body.metadata?.name ?? (body.metadata?.generateName ? `${body.metadata.generateName}${Math.random().toString(36).slice(2, 7)}` : null);
      if (!name) return reply(res, 422, status(422, 'Invalid', 'metadata.name: Required value'));
      const objNs = r.namespaced ? (r.ns ?? body.metadata?.namespace) : '';
      if (table(r.gv, r.plural).get(`${objNs}/${name}`)) {
        return reply(res, 409, status(409, 'AlreadyExists', `${r.plural} "${name}" already exists`, { name, group: r.group, kind: r.plural }));
      }
      const next = clone(body);
      next.metadata = next.metadata ?? {};
      for (const k of ['resourceVersion', 'uid', 'creationTimestamp', 'deletionTimestamp', 'generation']) delete next.metadata[k];
      recordManager(next, q.get('fieldManager') ?? userAgentManager(req), 'Update', r.gv, body);
      return out(201, commit(r, objNs, name, next, undefined));
    }
    if (req.method === 'DELETE') {
      verb('deletecollection');
      let ls;
      try { ls = parseLabelSelector(q.get('labelSelector')); } catch (e) { return reply(res, 400, status(400, 'BadRequest', e.message)); }
      const fsel = parseFieldSelector(q.get('fieldSelector'));
      const gone = [];
      for (const o of sortedObjects(r, listNs)) {
        if (ls(o) && fsel(o)) gone.push(deleteObject(r, o.metadata.namespace ?? '', o.metadata.name, o));
      }
      return reply(res, 200, { kind: `${r.kind}List`, apiVersion: r.gv, metadata: { resourceVersion: String(rv) }, items: gone });
    }
    log('unsupported collection verb:', req.method, req.url);
    return reply(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported on a collection`));
  }

  // One object.
  const key = `${ns}/${r.name}`;
  const existing = table(r.gv, r.plural).get(key);
  const isStatus = r.sub === 'status';

  if (req.method === 'GET') {
    if (['true', '1'].includes(q.get('watch'))) {
      verb('watch');
      q.set('fieldSelector', `metadata.name=${r.name}`);
      return startWatch(req, res, r, listNs, q, metaOnly);
    }
    verb('get');
    if (!existing) return notFound(res, r, r.name);
    return out(200, existing);
  }
  if (req.method === 'DELETE') {
    verb('delete');
    if (!existing) return notFound(res, r, r.name);
    await readBody(req);
    const result = deleteObject(r, ns, r.name, existing);
    return out(200, result);
  }
  if (req.method === 'PUT') {
    verb(isStatus ? 'update-status' : 'update');
    const body = parseJson(await readBody(req));
    if (!isObj(body)) return reply(res, 400, status(400, 'BadRequest', 'body is not a JSON object'));
    // As for custom resources and most built-in kinds, PUT does not create.
    if (!existing) return notFound(res, r, r.name);
    const want = body.metadata?.resourceVersion;
    if (want && want !== existing.metadata.resourceVersion) return conflict(res, r);
    let next;
    if (isStatus) {
      next = clone(existing);
      next.status = clone(body.status);
    } else {
      next = clone(body);
      next.metadata = { ...clone(body.metadata ?? {}), managedFields: clone(existing.metadata.managedFields) };
      if (existing.status !== undefined) next.status = clone(existing.status);
      else delete next.status;
    }
    recordManager(next, q.get('fieldManager') ?? userAgentManager(req), 'Update', r.gv, isStatus ? { status: body.status } : body, isStatus ? 'status' : undefined);
    return out(200, commit(r, ns, r.name, next, existing));
  }
  if (req.method === 'PATCH') {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const text = await readBody(req);
    const body = parseJson(text);
    if (body === undefined) {
      log('unparsable patch body (only JSON is understood):', req.url, text.slice(0, 200));
      return reply(res, 415, status(415, 'UnsupportedMediaType', 'this stub only understands JSON bodies'));
    }
    const manager = q.get('fieldManager') ?? userAgentManager(req);
    let next;
    if (type === 'application/apply-patch+yaml' || type === 'application/apply-patch+cbor') {
      verb(isStatus ? 'apply-status' : 'apply');
      if (!isObj(body)) return reply(res, 400, status(400, 'BadRequest', 'apply body is not an object'));
      if (!manager || !q.get('fieldManager')) return reply(res, 400, status(400, 'BadRequest', 'PATCH with apply requires fieldManager'));
      const want = body.metadata?.resourceVersion;
      if (existing && want && want !== existing.metadata.resourceVersion) return conflict(res, r);
      if (!existing && isStatus) return notFound(res, r, r.name);
      const appliedKey = `${r.gv}/${r.plural}/${ns}/${r.name}/${r.sub ?? ''}/${manager}`;
      const config = clone(body);
      if (isObj(config.metadata)) delete config.metadata.resourceVersion;
      const merged = clone(existing) ?? { metadata: {} };
      prune(merged, stripIdentity(applied.get(appliedKey)), stripIdentity(config));
      deepMerge(merged, config);
      if (isStatus) {
        next = clone(existing);
        if (merged.status === undefined) delete next.status;
        else next.status = merged.status;
      } else {
        next = merged;
        next.metadata = next.metadata ?? {};
        if (existing?.status !== undefined) next.status = clone(existing.status);
        else delete next.status;
        if (existing) next.metadata.managedFields = clone(existing.metadata.managedFields);
      }
      recordManager(next, manager, 'Apply', r.gv, isStatus ? { status: body.status } : body, isStatus ? 'status' : undefined);
      const result = commit(r, ns, r.name, next, existing);
      rememberApplied(appliedKey, config);
      return out(existing ? 200 : 201, result);
    }
    if (!existing) return notFound(res, r, r.name);
    if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
      verb(isStatus ? 'patch-status' : 'patch');
      if (!isObj(body)) return reply(res, 400, status(400, 'BadRequest', 'merge patch body is not an object'));
      const want = body.metadata?.resourceVersion;
      if (want && want !== existing.metadata.resourceVersion) return conflict(res, r);
      const merged = deepMerge(clone(existing), body);
      next = restrictTo(existing, merged, isStatus);
      recordManager(next, manager, 'Update', r.gv, body, isStatus ? 'status' : undefined);
    } else if (type === 'application/json-patch+json') {
      verb(isStatus ? 'patch-status' : 'patch');
      let patched;
      try {
        patched = applyJsonPatch(clone(existing), body);
      } catch (e) {
        if (!(e instanceof PatchError)) throw e;
        return reply(res, 422, status(422, 'Invalid', `the server rejected our request due to an error in our request: ${e.message}`));
      }
      next = restrictTo(existing, patched, isStatus);
      recordManager(next, manager, 'Update', r.gv, patchedFields(body), isStatus ? 'status' : undefined);
    } else {
      log('unsupported patch content type:', type, req.url);
      return reply(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format (${type})`));
    }
    return out(200, commit(r, ns, r.name, next, existing));
  }
  stats.unknown += 1;
  log('unsupported verb:', req.method, req.url);
  return reply(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported`));
}

function stripIdentity(o) {
  if (!isObj(o)) return o;
  const c = clone(o);
  delete c.apiVersion;
  delete c.kind;
  if (isObj(c.metadata)) { delete c.metadata.name; delete c.metadata.namespace; }
  return c;
}
// Main-resource writes keep the status; status writes change nothing but the status.
function restrictTo(existing, changed, isStatus) {
  if (isStatus) {
    const next = clone(existing);
    if (changed.status === undefined) delete next.status;
    else next.status = changed.status;
    return next;
  }
  const next = changed;
  if (existing.status !== undefined) next.status = clone(existing.status);
  else delete next.status;
  next.metadata = next.metadata ?? {};
  return next;
}
function patchedFields(ops) {
  const out = {};
  for (const op of Array.isArray(ops) ? ops : []) {
    if (op.op === 'test') continue;
    let cur = out;
    const tokens = parsePointer(op.path ?? '').filter((t) => !/^(\d+|-)$/.test(t));
    for (const t of tokens) cur = cur[t] = isObj(cur[t]) ? cur[t] : {};
  }
  return out;
}
function conflict(res, r) {
  return reply(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on ${r.plural}: the object has been modified; please apply your changes to the latest version and try again`));
}
function userAgentManager(req) {
  return (req.headers['user-agent'] ?? 'unknown').split('/')[0];
}
function parseJson(text) {
  if (text.trim() === '') return {};
  try { return JSON.parse(text); } catch { return undefined; }
}

// ---------------------------------------------------------------- seed data

function put(gv, plural, obj, manager = 'kubectl') {
  const [kind, namespaced] = RESOURCES[gv][plural];
  const r = { gv, plural, kind, namespaced };
  const ns = namespaced ? obj.metadata.namespace : '';
  const next = clone(obj);
  recordManager(next, manager, 'Apply', gv, obj);
  rememberApplied(`${gv}/${plural}/${ns}/${obj.metadata.name}//${manager}`, clone(obj));
  return commit(r, ns, obj.metadata.name, next, table(gv, plural).get(`${ns}/${obj.metadata.name}`), false);
}
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

function kubeconfig(port, name) {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: http://127.0.0.1:${port}`,
    'users:',
    `- name: ${name}`,
    '  user:',
    '    token: bench',
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}`,
    '    namespace: auth',
    `current-context: ${name}`,
    '',
  ].join('\n');
}

// One Organization of the scale seed, as `kubectl apply` would write it.
function putOrganization(i) {
  const V = 'vestibule.dev/v1alpha1';
  put(V, 'organizations', {
    apiVersion: V, kind: 'Organization',
    metadata: { name: `org-${i}`, namespace: 'auth' },
    spec: {
      vestibuleRef: { name: 'scale' }, slug: `org-${i}`, displayName: `Organization ${i}`,
      domains: [{ domain: `org-${i}.example.com`, enrollment: 'autoJoin' }],
      roles: [{ name: 'admin', permissions: ['org:manage'] }, { name: 'member', permissions: ['projects:read'] }],
      members: Array.from({ length: SEED_MEMBERS }, (_, m) => (
        m === 0 ? { email: `owner@org-${i}.example.com`, role: 'admin' } : { email: `user${m}@org-${i}.example.com`, role: 'member' }
      )),
    },
  });
}

// The shape of benches/operator_scale.rs: a Vestibule with 3 regions, 1,000 Organizations and
// 100 Applications. The remote regions point back at this server, each in its own namespace
// (auth-us, auth-ap) so their objects do not collide with eu's in `auth`.
function seedScale(port, orgs = SEED_ORGS, apps = 100) {
  const V = 'vestibule.dev/v1alpha1';
  for (const name of ['default', 'auth']) put('v1', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  put('v1', 'secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'auth' }, type: 'Opaque', data: { url: b64('postgres://vestibule:bench-password@postgres.auth.svc:5432/vestibule') } });
  for (const name of ['us', 'ap']) {
    put('v1', 'secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'auth' }, type: 'Opaque', data: { kubeconfig: b64(kubeconfig(port, name)) } });
  }
  put(V, 'vestibules', {
    apiVersion: V, kind: 'Vestibule',
    metadata: { name: 'scale', namespace: 'auth' },
    spec: {
      issuer: 'https://auth.example.com',
      database: { postgres: { urlSecretRef: { name: 'db', key: 'url' } } },
      organizations: { enabled: true },
      regions: [
        { name: 'eu', replicas: 3 },
        { name: 'us', replicas: 3, kubeconfigSecretRef: { name: 'us', key: 'kubeconfig' }, namespace: 'auth-us' },
        { name: 'ap', replicas: 2, kubeconfigSecretRef: { name: 'ap', key: 'kubeconfig' }, namespace: 'auth-ap' },
      ],
    },
  });
  for (let i = 0; i < orgs; i++) putOrganization(i);
  for (let i = 0; i < apps; i++) {
    put(V, 'applications', {
      apiVersion: V, kind: 'Application',
      metadata: { name: `app-${i}`, namespace: 'auth' },
      spec: {
        vestibuleRef: { name: 'scale' }, type: 'spa', clientId: `app-${i}`,
        redirectUris: [`https://app-${i}.example.com/callback`],
        allowedOrigins: [`https://app-${i}.example.com`],
      },
    });
  }
}

// ---------------------------------------------------------------- main

const server = http.createServer({ noDelay: true, keepAlive: true }, (req, res) => {
  handle(req, res).catch((e) => {
    if (e.status) {
      log('refused:', req.method, req.url, e.message);
      if (!res.headersSent) return reply(res, e.status.code, e.status);
    }
    log('internal error:', req.method, req.url, e.stack ?? e);
    if (!res.headersSent) reply(res, 500, status(500, 'InternalError', String(e.message ?? e)));
    else res.end();
  });
});
server.keepAliveTimeout = 0; // never close idle keep-alive connections under the client
server.requestTimeout = 0;
server.headersTimeout = 60_000;

server.listen(PORT, '127.0.0.1', () => {
  const port = server.address().port;
  if (SEED === 'scale') seedScale(port);
  else if (SEED) { log(`unknown --seed ${SEED}`); process.exit(2); }
  if (PORT_FILE) fs.writeFileSync(PORT_FILE, `${port}\n`);
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});

const stop = () => {
  for (const w of [...watchers]) w.close();
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
