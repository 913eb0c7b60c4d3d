import { BadRequestException, Injectable, NotFoundException, PipeTransform } from '@nestjs/common';
import { MAX_ENTITY_ID } from './http.constants';

const POSITIVE_INTEGER = /^[1-9]\d{0,15}$/;

/**
 * Parses a route or query id: `400` when it is not a positive integer, `404` when it is
 * beyond the key range (it cannot exist, and the database would reject it as out of range).
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!POSITIVE_INTEGER.test(value)) {
      throw new BadRequestException('id must be a positive integer');
    }
    const id = Number(value);
    if (id > MAX_ENTITY_ID) throw new NotFoundException('Not found');
    return id;
  }
}

/**
 * For DTO fields: `@Transform(toStrictInteger)` turns a decimal string into a number and
 * anything else into `NaN`, so `@IsInt()` rejects `0x10`, `1e3` or `1.5`.
 */
export function toStrictInteger({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  return /^-?\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
}

/**
 * Parses a comma-separated id list (`1,2,3`) of at most `max` ids; duplicates are kept.
 * `value` is whatever the query parser made of the parameter: `?ids=1&ids=2` arrives as an
 * array, which is refused like any other malformed list.
 */
export function parseIdList(value: unknown, max: number): number[] {
  if (value === undefined || value === '') {
    throw new BadRequestException('ids is required: a comma-separated list of positive integers');
  }
  if (typeof value !== 'string') {
    throw new BadRequestException('ids must be given once, as a comma-separated list');
  }
  const parts = value.split(',');
  if (parts.length > max) throw new BadRequestException(`at most ${max} ids may be asked at once`);
  return parts.map((part) => {
    if (!POSITIVE_INTEGER.test(part)) {
      throw new BadRequestException('ids must be a comma-separated list of positive integers');
    }
    return Number(part);
  });
}
