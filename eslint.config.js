// ESLint (flat config): ESLint's and typescript-eslint's type-aware recommended rules, tuned to what this
// codebase means by correct code; Prettier owns formatting (eslint-config-prettier, last, turns off every
// rule that would disagree with it). `npm run lint`; scripts/test.sh runs it with tsc and prettier --check.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals, for the plain JavaScript files (bin/, scripts/*.mjs, the worker-thread entry), which no
// type checker reads; the TypeScript files get theirs from tsconfig's "types": ["node"].
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'AbortSignal',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextDecoder',
    'TextEncoder',
    'clearInterval',
    'clearTimeout',
    'console',
    'fetch',
    'performance',
    'process',
    'queueMicrotask',
    'setInterval',
    'setTimeout',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    // .gitignore'd output and recorded data; nothing in them is hand-written source.
    ignores: ['node_modules/', '.tools/', '.blockscope/', 'test-results/', 'bench/results/', 'dist/', 'coverage/'],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // Type information from tsconfig.json, which includes every TypeScript folder (pipelines, activities,
      // workflows, workers, cli, test, bench, scripts) and vitest.config.ts.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-deprecated': 'error',
      // Unused names are errors unless they say they are unused with a leading underscore.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'all',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // The code imports types as types already (`import type { ... }`, or `type X` inside a value import).
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      // The code indexes arrays and records with `x[i]!`, written for noUncheckedIndexedAccess (tsc reports
      // only 5 errors with it on); without that flag this rule calls each of those ~750 assertions
      // unnecessary and --fix would strip them. Turn it back on together with noUncheckedIndexedAccess.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // `async` without `await` is how the code implements Promise-returning interfaces (knownDevices,
      // evaluate, loadItems ...) so that a throw becomes a rejection; no-floating-promises and
      // await-thenable catch the real mistakes.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.stringMatching ...) are typed `any`, so putting them in
    // an expected object is an "unsafe assignment"; using an `any` (member access, call, argument) is still
    // an error.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: nodeGlobals },
  },
  prettier,
);
