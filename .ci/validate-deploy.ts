/**
 * Offline checks of the deployment files (no Docker engine, no cluster here), run by
 * `.ci/validate-deploy`: every Kubernetes manifest against the Kubernetes 1.27 schemas
 * (kubernetes-models), the manifests and the compose file against each other and against the
 * app's own configuration parser, and the Dockerfile's final stage. Exits 1 naming each problem.
 *
 * Usage: ts-node .ci/validate-deploy.ts <docker-compose config output (YAML)>
 *          <the same with docker-compose.local.yml>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigValidationError, LoadstarConfig, parseEnvironment } from '@app/config';

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

function appConfig(env: Record<string, string>, where: string): LoadstarConfig | undefined {
  try {
    const config = parseEnvironment(env, ROOT);
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
  checkNoSecretValuesApplied(kustomization, manifests);
  const secretEnv = checkExternalSecret(kustomization, configMap);

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
      envFrom.some((source: Manifest) => source.secretRef?.name === EXTERNAL_SECRET.name),
    `the container takes its environment from the ConfigMap and the Secret ${EXTERNAL_SECRET.name}`,
  );

  const config = appConfig(
    { ...configMap.data, ...secretEnv },
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

/**
 * The Secret the pods read, which no file here applies (kustomization.yaml documents the
 * `kubectl create secret` for it), with a value of the documented form for each key, so that
 * the app's parser can check the ConfigMap with it.
 */
const EXTERNAL_SECRET = {
  name: 'loadstar-secrets',
  samples: {
    DATABASE_URL: 'postgres://loadstar:validate-only@postgres:5432/loadstar?sslmode=verify-full',
    REDIS_URL: 'rediss://:validate-only@redis:6379',
    JWT_SECRET: 'validate-only-Qm9yZWFsaXMgbm9uIGV4aXN0aXQ',
  } as Record<string, string>,
};

/** The keys that carry a password or a signing key: never in a ConfigMap, never in git. */
const SECRET_KEYS = [...Object.keys(EXTERNAL_SECRET.samples), 'METRICS_TOKEN'];

/** A `redis://` / `rediss://` URL with a password in it. */
const hasRedisPassword = (url: string) => {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
};

/**
 * Whatever `kubectl apply -k` applies comes from git: a Secret with `data`/`stringData` in a
 * listed file, or a `secretGenerator` with `literals`, would put (placeholder) credentials
 * into every cluster it is applied to.
 */
function checkNoSecretValuesApplied(
  kustomization: Manifest,
  manifests: Map<string, Manifest[]>,
): void {
  const listed = new Set<string>(kustomization.resources ?? []);
  const withValues = (manifests.get('Secret') ?? []).filter(
    (secret) =>
      listed.has(secret.file) && Object.keys({ ...secret.data, ...secret.stringData }).length > 0,
  );
  check(
    withValues.length === 0,
    `kustomization.yaml applies no Secret with values${withValues.map((s) => ` (found: ${s.file})`).join('')}`,
  );
  const generated = (kustomization.secretGenerator ?? []).filter(
    (generator: Manifest) => (generator.literals ?? []).length > 0,
  );
  check(generated.length === 0, 'kustomization.yaml generates no Secret from literals');
}

/**
 * kustomization.yaml documents how to create the Secret the pods read, with every key the app
 * needs in production; the ConfigMap holds none of them. Returns sample values for those keys.
 */
function checkExternalSecret(kustomization: Manifest, configMap: Manifest): Record<string, string> {
  const text = readFileSync(join(K8S_DIR, kustomization.file), 'utf8');
  check(
    text.includes(`kubectl create secret generic ${EXTERNAL_SECRET.name}`),
    `kustomization.yaml documents kubectl create secret generic ${EXTERNAL_SECRET.name}`,
  );
  for (const key of Object.keys(EXTERNAL_SECRET.samples)) {
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
  return EXTERNAL_SECRET.samples;
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

const [resolvedComposeFile, resolvedWithLocalAccess] = process.argv.slice(2);
if (!resolvedComposeFile || !resolvedWithLocalAccess) {
  throw new Error(
    'usage: validate-deploy.ts <docker-compose config output> <the same with docker-compose.local.yml>',
  );
}
checkKubernetes();
checkCompose(resolvedComposeFile, resolvedWithLocalAccess);
checkDockerfile();
if (problems.length > 0) {
  for (const problem of problems) console.error(`FAIL ${problem}`);
  process.exit(1);
}
