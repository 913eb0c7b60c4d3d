/** A rejected row of an import. */
export class ImportErrorDto {
  /** line of the file where the row starts (the header is line 1) */
  line!: number;
  message!: string;
}
