const IPV4_MAPPED = /^::ffff:\d+\.\d+\.\d+\.\d+$/i;

/**
 * The counter key of a client address (Fastify's `request.ip`, which already honours
 * `TRUST_PROXY`). IPv4 as is; an IPv6 client is keyed by its /64 network, since one subscriber
 * usually gets a whole /64 and could otherwise rotate addresses inside it.
 *
 * @example clientAddressKey('2001:db8::1:2:3:4') // '2001:db8:0:1::/64'
 */
export function clientAddressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  if (IPV4_MAPPED.test(ip)) return ip.slice(7);
  const zone = ip.indexOf('%');
  const bare = (zone === -1 ? ip : ip.slice(0, zone)).toLowerCase();
  const gap = bare.indexOf('::');
  const head = (gap === -1 ? bare : bare.slice(0, gap)).split(':').filter(Boolean);
  const tail =
    gap === -1
      ? []
      : bare
          .slice(gap + 2)
          .split(':')
          .filter(Boolean);
  const groups =
    gap === -1
      ? head
      : [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
