import { ImportErrorDto } from './import-error.dto';

/** Outcome of `POST /api/posts/import`. */
export class ImportResultDto {
  /** rows inserted */
  imported!: number;
  /** rows rejected by validation */
  failed!: number;
  /** the first 100 rejected rows */
  errors!: ImportErrorDto[];
}
