// npm ci and npm install in a checkout run this: it builds dist/ and the oclif manifest, so ./bin/run.js works
// (and starts as quickly as the installed package). npm pack and publish run it after prepack, which has
// built already and added the embedded seed to dist/, which a second build would delete.
import { execSync } from 'node:child_process'

if (!['pack', 'publish'].includes(process.env.npm_command ?? '')) execSync('npm run build', { stdio: 'inherit' })
