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
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/telegram/**'] }] },
  },
  {
    files: ['src/telegram/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/trading/**'] }] },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/trading/**', '**/telegram/**', '**/ops/**', '**/cli/**'] },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
