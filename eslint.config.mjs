import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-*/**',
      'node_modules/**',
      'logs/**',
      'data/**',
      'bin/**',
      'scripts/*.js',
      'ecosystem.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The daemons never import each other: shared/ is the only common ground.
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['src/trading/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/telegram/**', '**/harness/**', '**/test/**', '**/scripts/**'] },
      ],
    },
  },
  {
    files: ['src/telegram/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/trading/**', '**/harness/**', '**/test/**', '**/scripts/**'] },
      ],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/trading/**',
            '**/telegram/**',
            '**/ops/**',
            '**/cli/**',
            '**/harness/**',
            '**/test/**',
          ],
        },
      ],
    },
  },
  {
    // the harness (real counterparts shared by tests and tools) stands on src alone
    files: ['harness/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/test/**', '**/scripts/**'] }] },
  },
  {
    // the tools (bench, chaos, soak, build) use the harness, never the tests
    files: ['scripts/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/test/**'] }] },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/trading/**', 'src/telegram/**', 'src/shared/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/harness/**', '**/test/**', '**/scripts/**'] }],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'harness/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
