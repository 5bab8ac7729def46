/** Programmatic entry points, for those who embed crypto-etl rather than run its CLI. */
export { resolveSettings, type Settings } from './config/settings.js'
export * from './core/errors.js'
export { connectWarehouse, type Warehouse } from './warehouse/connection/connect.js'
export { migrate } from './warehouse/migrate.js'
