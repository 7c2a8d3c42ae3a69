// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'var/', 'coverage/', 'web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'child_process', message: 'use node:child_process execFile/spawn with argv arrays' },
          ],
        },
      ],
    },
  },
  {
    // domain/ and scheduler/ are pure: no I/O modules.
    files: ['src/domain/**/*.ts', 'src/scheduler/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:fs*',
                'node:child_process',
                'node:net',
                'node:http*',
                'fs',
                'fs/*',
                'net',
                'http',
                'https',
                '**/store/**',
                '**/controller/**',
                '**/api/**',
                '**/agent/**',
              ],
              message: 'domain/ and scheduler/ are pure: no I/O and no imports from outer layers',
            },
          ],
        },
      ],
    },
  },
);
