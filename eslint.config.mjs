// typescript-eslint's recommended rules, type-aware where it matters (floating promises, misused
// promises in Express handlers), no formatting rules: lines are kept readable by review, not rewritten.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'tools/**', 'test-output/**', 'data/**', 'uploads/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-self-compare': 'error',
      eqeqeq: ['error', 'always'],
      'max-len': ['warn', { code: 180, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreComments: false }],
    },
  },
  // The pages' one small script runs in the browser.
  {
    files: ['service/web/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', window: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', location: 'readonly', history: 'readonly' },
    },
  },
  // Tests reach into parsed JSON and internals on purpose.
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off' } },
);
