import { PublicLimitsDto } from './dto';

/** What each feature publishes of its limits; the app passes them, so this module imports none. */
export type FeatureLimits = Omit<PublicLimitsDto, 'bodyMaxBytes'>;

/** Token of the features' {@link FeatureLimits}. */
export const PUBLIC_LIMITS = Symbol('PUBLIC_LIMITS');
