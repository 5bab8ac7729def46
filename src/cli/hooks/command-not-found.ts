/** A mistyped command: one line naming the closest command, exit 2 (oclif would say "command x not found"). */
import type { Hook } from '@oclif/core'
import { jsonLogs } from '../base-command.js'
import { secretVariables } from '../../config/settings-table.js'
import { ExitCode } from '../../core/errors.js'
import { maskSecrets } from '../../core/secrets.js'
import { unknownMessage } from '../../ui/did-you-mean.js'

const hook: Hook<'command_not_found'> = async function ({ id, config }) {
  // The "command" may be a URL or a key typed where an argument was expected (`status postgres://u:pw@h/db`).
  const secrets = secretVariables('value').map((variable) => process.env[variable])
  const message = maskSecrets(unknownMessage('command', id, config.commandIDs), secrets)
  const line = jsonLogs(undefined)
    ? JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: message, exit_code: ExitCode.usage })
    : `Error: ${message}`
  process.stderr.write(`${line}\n`)
  // Writes to stderr are synchronous for files, pipes and terminals here: nothing is lost by leaving now.
  process.exit(ExitCode.usage)
}

export default hook
