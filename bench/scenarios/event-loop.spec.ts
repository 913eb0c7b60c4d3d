import { parse } from 'csv-parse/sync';
import { postsCsv } from './event-loop';

describe('bench event-loop scenario', () => {
  describe('postsCsv', () => {
    it('writes a header and one valid, quoted row per post', () => {
      const rows = parse(postsCsv(3), { columns: true }) as { title: string; body: string }[];
      expect(rows).toHaveLength(3);
      expect(rows[2]).toEqual({
        title: 'Imported post 3',
        body: 'Body of post 3, with a comma and "quotes" inside.',
      });
    });
  });
});
