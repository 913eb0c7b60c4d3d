/** A rejected row of an import. */
export class ImportErrorDto {
  /** line of the file where the row starts (the header is line 1) */
  line!: number;
  message!: string;
}

/** Outcome of `POST /api/posts/import`. */
export class ImportResultDto {
  /** rows inserted */
  imported!: number;
  /** rows rejected by validation */
  failed!: number;
  /** the first 100 rejected rows */
  errors!: ImportErrorDto[];
}
