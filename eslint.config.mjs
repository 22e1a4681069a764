// ESLint flat config: typescript-eslint's type-checked rules for the shipped and
// runnable code, a lighter set for the tests, and eslint-config-prettier last so
// that formatting is left to Prettier (`npm run format`).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      '.data/**',
      '**/node_modules/**',
      // The consumer apps are separate projects, built in their own installs.
      'test/consumer/templates/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // A `let` that a callback reads before its one assignment cannot be a `const`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Nest's packages turn these off too: decorators and DI need empty classes,
      // interfaces that only mark a shape, and the occasional explicit `any`
      // (which the no-unsafe-* rules still track wherever it flows).
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-empty-object-type': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Nest's metadata APIs (Reflector, ExecutionContext#getHandler/getClass,
      // class decorators) are typed with `Function`: handlers and controllers
      // are functions of any shape, and that is what the code passes on.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // An async function without `await` still turns a throw into a rejected
      // promise, which the Promise-returning interface methods rely on.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The tests: same type-aware parser (jest's `expect(...).rejects` and
    // supertest chains are real floating-promise bugs when unawaited), but
    // test doubles and parsed response bodies are `any` by nature, so the
    // no-unsafe-* family and the checks on mocks' method references are off here.
    files: ['test/**/*.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  prettier,
);
