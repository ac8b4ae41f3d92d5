import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'xds-snapshots/**', 'rules/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // Focused tests silently skip the rest of the suite.
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only', message: 'Focused tests (.only) are banned.' },
        { object: 'test', property: 'only', message: 'Focused tests (.only) are banned.' },
        { object: 'describe', property: 'only', message: 'Focused tests (.only) are banned.' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
