export * from './public-config.dto';
export * from './public-limits.dto';
export * from './rate-limit-tier.dto';
