/**
 * Offline checks of the deployment files (no Docker engine, no cluster here), run by
 * `.ci/validate-deploy`: every Kubernetes manifest against the Kubernetes 1.27 schemas
 * (kubernetes-models), the manifests and the compose file against each other and against the
 * app's own configuration parser, and the Dockerfile's final stage. Exits 1 naming each problem.
 *
 * Usage: ts-node .ci/validate-deploy.ts <docker-compose config output (YAML)>
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
  const secret = one('Secret');
  const kustomization = one('Kustomization');
  const listed = new Set<string>(kustomization.resources);
  for (const kind of ['ConfigMap', 'Secret', 'Deployment', 'Service', 'HorizontalPodAutoscaler']) {
    check(listed.has(one(kind).file), `kustomization.yaml lists the ${kind}`);
  }
  check(listed.has(one('PodDisruptionBudget').file), 'kustomization.yaml lists the PDB');

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
      envFrom.some((source: Manifest) => source.secretRef?.name === secret.metadata.name),
    'the container takes its environment from the ConfigMap and the Secret',
  );

  const config = appConfig({ ...configMap.data, ...secret.stringData }, 'ConfigMap + Secret');
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

/** `docker-compose config` output: the compose file with anchors merged and variables set. */
function checkCompose(resolvedComposeFile: string): void {
  const services = (parseYaml(readFileSync(resolvedComposeFile, 'utf8')) as Manifest).services;
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

const [resolvedComposeFile] = process.argv.slice(2);
if (!resolvedComposeFile)
  throw new Error('usage: validate-deploy.ts <docker-compose config output>');
checkKubernetes();
checkCompose(resolvedComposeFile);
checkDockerfile();
if (problems.length > 0) {
  for (const problem of problems) console.error(`FAIL ${problem}`);
  process.exit(1);
}
