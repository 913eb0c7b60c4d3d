import { formatBoundAddress } from './http-operations';
import { OPERATIONS_PATH } from './http.constants';

describe('http-operations', () => {
  describe(formatBoundAddress.name, () => {
    it.each([
      [{ address: '0.0.0.0', family: 'IPv4', port: 3000 }, 'http://0.0.0.0:3000'],
      [{ address: '::', family: 'IPv6', port: 9464 }, 'http://[::]:9464'],
      [{ address: '127.0.0.1', family: 'IPv4', port: 41234 }, 'http://127.0.0.1:41234'],
    ])('names the address a listener is bound to: %j', (address, url) => {
      expect(formatBoundAddress(address)).toBe(url);
    });
  });

  describe('OPERATIONS_PATH', () => {
    it.each([
      '/health/live',
      '/health/ready',
      '/metrics',
      '/metrics?name[]=x',
      '/docs',
      '/docs/',
      '/docs/swagger-ui.css',
      '/docs-json',
      '/docs-yaml',
    ])('is an operations route: %s', (url) => expect(OPERATIONS_PATH.test(url)).toBe(true));

    it.each(['/api/config', '/api/metrics', '/healthz', '/metricsx', '/documents', '/'])(
      'is not an operations route: %s',
      (url) => expect(OPERATIONS_PATH.test(url)).toBe(false),
    );
  });
});
