/** The server the integration and e2e tests use (trust auth on the CI machine). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
