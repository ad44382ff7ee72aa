// Offline checks of rendered k8s/ overlays (tests/k8s/run.sh):
//   node validate.js check <overlay-name> <rendered.yaml> <k8s-dir> <routes.cc>
//     validates every object against the Kubernetes schemas (kubernetes-models) and checks
//     beyond-kv's invariants; prints one "PASS name" / "FAIL name: why" line per check.
//   node validate.js env <rendered.yaml>
//     prints the container's environment as KEY=VALUE lines: the ConfigMap's data, then the
//     secretKeyRef variables resolved from a rendered Secret (the pod's env, for the
//     entrypoint test).
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const MODULES = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
};

function load(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
      return d.toJSON();
    })
    .filter((o) => o);
}

function quantity(q) {  // "500m" -> 0.5, "8Gi" -> 8 * 2^30, "5" -> 5
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(q));
  if (!m) throw new Error(`bad quantity ${q}`);
  const mult = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return parseFloat(m[1]) * (m[2] ? mult[m[2]] : 1);
}

function podEnv(objs) {
  const sts = objs.find((o) => o.kind === "StatefulSet");
  const c = sts.spec.template.spec.containers[0];
  const env = {};
  for (const ef of c.envFrom || []) {
    const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === ef.configMapRef.name);
    if (cm) Object.assign(env, cm.data);
  }
  const fromSecret = {};
  for (const e of c.env || []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom && e.valueFrom.secretKeyRef;
    if (ref) {
      fromSecret[e.name] = ref;
      const s = objs.find((o) => o.kind === "Secret" && o.metadata.name === ref.name);
      if (s && s.data && s.data[ref.key] !== undefined) {
        env[e.name] = Buffer.from(s.data[ref.key], "base64").toString();
      } else if (s && s.stringData && s.stringData[ref.key] !== undefined) {
        env[e.name] = s.stringData[ref.key];
      }
    }
  }
  return { sts, c, env, fromSecret };
}

function check(overlay, file, k8sDir, routesFile) {
  let failed = 0;
  const result = (name, problems) => {
    if (problems.length === 0) {
      console.log(`PASS ${overlay}: ${name}`);
    } else {
      failed++;
      console.log(`FAIL ${overlay}: ${name}: ${problems.join("; ")}`);
    }
  };
  const objs = load(file);

  // 1. Schemas.
  const schema = [];
  for (const o of objs) {
    const mod = MODULES[o.apiVersion];
    if (!mod) { schema.push(`${o.kind} ${o.apiVersion}: no schema module`); continue; }
    const Model = require(mod)[o.kind];
    if (!Model) { schema.push(`${o.apiVersion} ${o.kind}: unknown kind`); continue; }
    try { new Model(o).validate(); } catch (e) { schema.push(`${o.kind}/${o.metadata.name}: ${e.message}`); }
  }
  result(`${objs.length} objects validate against the Kubernetes schemas`, schema);

  const kinds = objs.map((o) => o.kind).sort().join(",");
  const want = ["ConfigMap", "PodDisruptionBudget", "Service", "Service", "StatefulSet"];
  result("objects: StatefulSet, 2 Services, ConfigMap, PodDisruptionBudget (+ Secret in dev)",
    want.every((k) => objs.filter((o) => o.kind === k).length >= want.filter((w) => w === k).length)
      ? [] : [`got ${kinds}`]);

  const { sts, c, env, fromSecret } = podEnv(objs);
  const pod = sts.spec.template.spec;
  const num = (k) => parseInt(env[k], 10);
  const portOf = (p) => (typeof p === "number" ? p : ((c.ports || []).find((x) => x.name === p) || {}).containerPort);

  // 2. Probes point at real routes on the HTTP port.
  const routes = fs.readFileSync(routesFile, "utf8");
  const probes = [];
  const expect = { startupProbe: "/livez", livenessProbe: "/livez", readinessProbe: "/readyz" };
  for (const [probe, route] of Object.entries(expect)) {
    const p = c[probe];
    if (!p || !p.httpGet) { probes.push(`${probe} missing or not httpGet`); continue; }
    if (p.httpGet.path !== route) probes.push(`${probe} path ${p.httpGet.path}, want ${route}`);
    if (!routes.includes(`path == "${p.httpGet.path}"`)) probes.push(`${p.httpGet.path} is not a route of gateway/http/routes.cc`);
    if (portOf(p.httpGet.port) !== num("KV_HTTP_PORT")) probes.push(`${probe} port ${p.httpGet.port} is not KV_HTTP_PORT ${env.KV_HTTP_PORT}`);
  }
  const s = c.startupProbe || {};
  const window = (s.periodSeconds || 10) * (s.failureThreshold || 3);
  const startup = num("KV_STARTUP_TIMEOUT_SECS");
  if (!(window >= startup)) probes.push(`startupProbe allows ${window} s, below KV_STARTUP_TIMEOUT_SECS ${env.KV_STARTUP_TIMEOUT_SECS}`);
  result("probes: startup and liveness GET /livez, readiness GET /readyz, on KV_HTTP_PORT", probes);

  // 3. Ports match the flags (KV_*), Services reach them.
  const ports = [];
  if (portOf("resp") !== num("KV_RESP_PORT")) ports.push(`containerPort resp ${portOf("resp")} != KV_RESP_PORT ${env.KV_RESP_PORT}`);
  if (portOf("http") !== num("KV_HTTP_PORT")) ports.push(`containerPort http ${portOf("http")} != KV_HTTP_PORT ${env.KV_HTTP_PORT}`);
  if (env.KV_BIND !== "0.0.0.0" && env.KV_BIND !== "::") ports.push(`KV_BIND ${env.KV_BIND}: the kubelet and Services cannot reach it`);
  const services = objs.filter((o) => o.kind === "Service");
  const podLabels = sts.spec.template.metadata.labels;
  for (const svc of services) {
    for (const [k, v] of Object.entries(svc.spec.selector || {})) {
      if (podLabels[k] !== v) ports.push(`Service ${svc.metadata.name} selector ${k}=${v} misses the pod`);
    }
    for (const p of svc.spec.ports) {
      if (portOf(p.targetPort) === undefined) ports.push(`Service ${svc.metadata.name} targetPort ${p.targetPort} is no container port`);
    }
  }
  const client = services.find((o) => o.spec.clusterIP !== "None");
  const headless = services.find((o) => o.spec.clusterIP === "None");
  if (!headless || headless.metadata.name !== sts.spec.serviceName) ports.push("the headless Service is not the StatefulSet's serviceName");
  if (!client || !client.spec.ports.some((p) => p.port === 6379) || !client.spec.ports.some((p) => p.port === 4869)) ports.push("the client Service lacks 6379 or 4869");
  result("ports: container ports = KV_RESP_PORT/KV_HTTP_PORT, Services select the pod and hit them", ports);

  // 4. The data directory (and its run/ socket directory) is on the claim's volume.
  const data = [];
  const dataDir = env.KV_DATA_DIR;
  const claims = (sts.spec.volumeClaimTemplates || []).map((v) => v.metadata.name);
  const mountFor = (p) => (c.volumeMounts || [])
    .filter((m) => p === m.mountPath || p.startsWith(m.mountPath.replace(/\/$/, "") + "/"))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const dm = dataDir && mountFor(dataDir);
  if (!dataDir) data.push("KV_DATA_DIR unset");
  else if (!dm) data.push(`${dataDir} is on no volume`);
  else if (!claims.includes(dm.name)) data.push(`${dataDir} is on volume ${dm.name}, not a volumeClaimTemplate (${claims})`);
  else if (dm.readOnly) data.push(`${dm.mountPath} is mounted readOnly`);
  result("data directory KV_DATA_DIR is on the volumeClaimTemplate's volume", data);

  // 5. Read-only root filesystem, and every path beyond-kv writes is on a writable volume.
  const ro = [];
  const sc = c.securityContext || {};
  if (sc.readOnlyRootFilesystem !== true) ro.push("readOnlyRootFilesystem is not true");
  for (const p of [dataDir, `${dataDir}/run`, `${dataDir}/run/shard-0.sock`]) {
    const m = p && mountFor(p);
    if (!m || m.readOnly) ro.push(`${p} would be on the read-only root`);
  }
  const sockLen = `${dataDir}/run/shard-${num("KV_THREADS") - 1}.sock`.length;
  if (sockLen > 107) ro.push(`socket path ${sockLen} bytes > 107`);
  result("socket directory <data-dir>/run is writable under readOnlyRootFilesystem", ro);

  // 6. Secrets come from a Secret, never from the ConfigMap or a literal.
  const sec = [];
  for (const name of ["KV_REQUIREPASS", "KV_HTTP_TOKEN"]) {
    if (!fromSecret[name]) sec.push(`${name} is not a secretKeyRef`);
    if (fromSecret[name] && fromSecret[name].optional) sec.push(`${name} is optional`);
    for (const cm of objs.filter((o) => o.kind === "ConfigMap")) {
      if (cm.data && name in cm.data) sec.push(`ConfigMap ${cm.metadata.name} holds ${name}`);
    }
    if ((c.env || []).some((e) => e.name === name && e.value !== undefined)) sec.push(`${name} is a literal`);
  }
  for (const ref of Object.values(fromSecret)) {
    const s = objs.find((o) => o.kind === "Secret" && o.metadata.name === ref.name);
    if (s && !((s.data && ref.key in s.data) || (s.stringData && ref.key in s.stringData))) sec.push(`Secret ${ref.name} lacks ${ref.key}`);
  }
  result("KV_REQUIREPASS and KV_HTTP_TOKEN come from a Secret (secretKeyRef)", sec);

  // 7. Restrictive security context with the io_uring seccomp profile.
  const psc = pod.securityContext || {};
  const secx = [];
  if (!(psc.runAsNonRoot || sc.runAsNonRoot)) secx.push("runAsNonRoot not set");
  const containerfile = fs.readFileSync(path.join(k8sDir, "Containerfile"), "utf8");
  const uid = (/^USER\s+(\d+)/m.exec(containerfile) || [])[1];
  if (String(sc.runAsUser || psc.runAsUser) !== uid) secx.push(`runAsUser ${sc.runAsUser || psc.runAsUser} != the image's USER ${uid}`);
  if (String(psc.fsGroup) !== uid) secx.push(`fsGroup ${psc.fsGroup}: the volume must be writable by gid ${uid}`);
  if (sc.allowPrivilegeEscalation !== false) secx.push("allowPrivilegeEscalation is not false");
  if (!sc.capabilities || !(sc.capabilities.drop || []).includes("ALL") || (sc.capabilities.add || []).length) secx.push("capabilities: not drop ALL (or some added)");
  if (sc.privileged) secx.push("privileged");
  const seccomp = sc.seccompProfile || psc.seccompProfile || {};
  if (seccomp.type !== "Localhost") secx.push(`seccompProfile type ${seccomp.type}, want Localhost (RuntimeDefault blocks io_uring)`);
  else {
    const file = path.join(k8sDir, "seccomp", seccomp.localhostProfile);  // the kubelet's layout
    if (!fs.existsSync(file)) secx.push(`no profile ${file} for ${seccomp.localhostProfile}`);
    else {
      const prof = JSON.parse(fs.readFileSync(file, "utf8"));
      const denied = new Set();
      for (const r of prof.syscalls) if (r.action !== "SCMP_ACT_ALLOW" && !r.args) r.names.forEach((n) => denied.add(n));
      for (const n of ["io_uring_setup", "io_uring_enter", "io_uring_register"]) {
        if (denied.has(n) || (prof.defaultAction !== "SCMP_ACT_ALLOW" && !prof.syscalls.some((r) => r.action === "SCMP_ACT_ALLOW" && r.names.includes(n)))) secx.push(`the profile refuses ${n}`);
      }
      for (const n of ["ptrace", "mount", "unshare", "setns", "bpf", "keyctl", "kexec_load", "init_module", "perf_event_open", "userfaultfd"]) {
        if (prof.defaultAction === "SCMP_ACT_ALLOW" && !denied.has(n)) secx.push(`the profile allows ${n}`);
      }
    }
  }
  if (pod.automountServiceAccountToken !== false) secx.push("automountServiceAccountToken is not false");
  result("securityContext: non-root uid of the image, no escalation, drop ALL, Localhost seccomp allowing io_uring", secx);

  // 8. Resources derived from --threads and --memory-bytes.
  const res = [];
  const threads = num("KV_THREADS");
  const mem = num("KV_MEMORY_BYTES");
  const rq = (c.resources || {}).requests || {};
  const lim = (c.resources || {}).limits || {};
  if (!(threads >= 1)) res.push("KV_THREADS must be set (else beyond-kv counts the node's CPUs)");
  if (!(mem > 0)) res.push("KV_MEMORY_BYTES must be set");
  const floor = mem + (threads + 2) * 32 * 2 ** 20;  // cache + ~32 MiB per process (S shards, 2 gateways)
  if (!rq.memory || quantity(rq.memory) < floor) res.push(`requests.memory ${rq.memory} < KV_MEMORY_BYTES + 32 MiB x (KV_THREADS + 2) = ${floor}`);
  if (!lim.memory || quantity(lim.memory) < quantity(rq.memory || 0)) res.push("limits.memory missing or below requests.memory");
  if (!rq.cpu) res.push("requests.cpu missing");
  if (lim.cpu && quantity(lim.cpu) < threads) res.push(`limits.cpu ${lim.cpu} < KV_THREADS ${threads}: shards would be throttled`);
  if (overlay === "production") {
    if (quantity(rq.cpu) !== threads + 1) res.push(`requests.cpu ${rq.cpu} != KV_THREADS + 1 (a core per shard, one for the gateways)`);
    if (rq.cpu !== lim.cpu || rq.memory !== lim.memory) res.push("requests != limits: not Guaranteed QoS");
  }
  result("resources follow KV_THREADS and KV_MEMORY_BYTES", res);

  // 9. Lifecycle: one replica, grace period covers the shutdown sequence, PDB, scraping.
  const life = [];
  if (sts.spec.replicas !== 1) life.push(`replicas ${sts.spec.replicas}: beyond-kv has no replication`);
  if (!(pod.terminationGracePeriodSeconds >= 45)) life.push(`terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} < 10 s (gateways) + 30 s (shards) + margin`);
  const pdb = objs.find((o) => o.kind === "PodDisruptionBudget");
  if (!pdb) life.push("no PodDisruptionBudget");
  else for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels || {})) if (podLabels[k] !== v) life.push(`PDB selector ${k}=${v} misses the pod`);
  const ann = sts.spec.template.metadata.annotations || {};
  if (ann["prometheus.io/scrape"] !== "true" || ann["prometheus.io/path"] !== "/metrics" || parseInt(ann["prometheus.io/port"], 10) !== num("KV_HTTP_PORT")) life.push("prometheus.io annotations missing or not /metrics on KV_HTTP_PORT");
  if (!routes.includes('path == "/metrics"')) life.push("/metrics is not a route");
  result("lifecycle: 1 replica, grace >= 45 s, PDB selects the pod, Prometheus annotations", life);
  return failed;
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "check") {
  process.exit(check(...args) ? 1 : 0);
} else if (cmd === "env") {
  const { env } = podEnv(load(args[0]));
  for (const [k, v] of Object.entries(env)) console.log(`${k}=${v}`);
} else {
  console.error("usage: validate.js check OVERLAY RENDERED.yaml K8S_DIR ROUTES.cc | env RENDERED.yaml");
  process.exit(2);
}
