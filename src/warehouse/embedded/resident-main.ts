/**
 * The resident process's entry (started detached by resident-client.ts): `node resident-main.js <dataDir>
 * <idleMs> <lockWaitMs>`. Its exit code is one of RESIDENT_EXIT.
 */
import { runResident } from './resident-host.js'

const [dataDir, idleMs, lockWaitMs] = process.argv.slice(2)
const code = await runResident({ dataDir: dataDir!, idleMs: Number(idleMs), lockWaitMs: Number(lockWaitMs) })
// The resident is a process of its own, not a command: nothing above it picks the exit code.
// eslint-disable-next-line no-restricted-properties
process.exit(code)
