import { PickType } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { ListPostsQuery } from './list-posts.query';

/** Encodings of `GET /api/posts/export`. */
export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** `authorId` is parsed and checked as in {@link ListPostsQuery}. */
export class ExportPostsQuery extends PickType(ListPostsQuery, ['authorId']) {
  /** `ndjson` (one JSON post per line, the default) or `csv` (with a header row) */
  @IsOptional()
  @IsIn(EXPORT_FORMATS)
  format: ExportFormat = 'ndjson';
}
