import { resolveAliases } from './build';

describe('bench build', () => {
  describe('resolveAliases', () => {
    const paths = { '@app/cache': ['libs/cache/src'], '@app/http': ['libs/http/src'] };

    it('points an alias at the compiled lib, relative to the requiring file', () => {
      const code = 'const config_1 = require("@app/cache");';
      expect(resolveAliases(code, '/out/src/users', '/out', paths)).toBe(
        'const config_1 = require("../../libs/cache/src");',
      );
      expect(resolveAliases(code, '/out/libs/cache/src', '/out', paths)).toBe(
        'const config_1 = require("./");',
      );
    });

    it('keeps a deep path after the alias and leaves packages and unknown aliases alone', () => {
      const code = 'require("@app/http/x"); require("@nestjs/core"); require("@app/none");';
      expect(resolveAliases(code, '/out/src', '/out', paths)).toBe(
        'require("../libs/http/src/x"); require("@nestjs/core"); require("@app/none");',
      );
    });
  });
});
