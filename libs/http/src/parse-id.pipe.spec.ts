import { BadRequestException, NotFoundException } from '@nestjs/common';
import { ParseIdPipe, parseIdList, toStrictInteger } from './parse-id.pipe';

describe(ParseIdPipe.name, () => {
  const pipe = new ParseIdPipe();

  describe('#transform', () => {
    it.each([
      ['1', 1],
      ['42', 42],
      ['2147483647', 2_147_483_647],
    ])('parses %s', (value, id) => {
      expect(pipe.transform(value)).toBe(id);
    });

    it.each(['0', '-1', '01', '1.0', '1e3', '0x10', ' 1', '', 'abc', '1'.repeat(17)])(
      'rejects %j with 400',
      (value) => {
        expect(() => pipe.transform(value)).toThrow(BadRequestException);
      },
    );

    it('answers 404 beyond the key range', () => {
      expect(() => pipe.transform('2147483648')).toThrow(NotFoundException);
    });
  });

  describe('parseIdList', () => {
    it('keeps order and duplicates', () => {
      expect(parseIdList('3,1,3', 100)).toEqual([3, 1, 3]);
    });

    it.each([undefined, '', '1,,2', '1,x', '1,2,3', ['1', '2'], { $ne: '1' }])(
      'rejects %j',
      (value) => {
        expect(() => parseIdList(value, 2)).toThrow(BadRequestException);
      },
    );
  });

  describe('toStrictInteger', () => {
    it.each([
      ['12', 12],
      ['-3', -3],
      ['0x10', NaN],
      ['1e1', NaN],
      ['1.5', NaN],
      [7, 7],
    ])('maps %j to %j', (value, expected) => {
      expect(toStrictInteger({ value })).toEqual(expected);
    });
  });
});
