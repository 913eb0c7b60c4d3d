import autocannon from 'autocannon';

/**
 * Child process of `probeWhile` (bench/load.ts): probes a URL at a steady rate on one
 * connection, as a health checker does, from a process of its own, so that what the bench
 * process does meanwhile (sending a 14 MB import, polling a job) never delays a probe. Says
 * `ready` once probing, stops when told to and sends back autocannon's result.
 *
 * @example fork('bench/health-prober.ts', [url, ratePerS, maxDurationS])
 */
const [url, ratePerS, maxDurationS] = process.argv.slice(2);
const instance = autocannon({
  url,
  connections: 1,
  overallRate: Number(ratePerS),
  duration: Number(maxDurationS),
  timeout: 10,
});
instance.once('start', () => process.send!('ready'));
process.once('message', () => instance.stop());
void instance.then((result) => process.send!(result, () => process.exit(0)));
