/** The global flags of every command, made from the table of settings (config/settings-table.ts). */
import { Flags } from '@oclif/core'
import type { BooleanFlag, OptionFlag } from '@oclif/core/interfaces'
import { z } from 'zod'
import {
  type GlobalFlagName,
  type IsSwitch,
  SETTING_ENTRIES,
  type SettingDefinition,
} from '../config/settings-table.js'

/** The oclif flag of each global flag name: a switch, or a flag with a value. */
export type GlobalFlags = {
  [N in GlobalFlagName]: IsSwitch<N> extends true ? BooleanFlag<boolean> : OptionFlag<string | undefined>
}

/** One entry's flag: its summary ending in the variable it also reads, its values when the schema lists them. */
function flagOf(entry: SettingDefinition) {
  const flag = entry.flag!
  const env = entry.variable ? ` Env: ${entry.variable}.` : ''
  const common = {
    summary: `${flag.summary ?? ''}${env}`,
    helpGroup: 'GLOBAL',
    exclusive: flag.exclusive && [...flag.exclusive],
  }
  if (flag.boolean) return Flags.boolean(common)
  const options = entry.schema instanceof z.ZodEnum ? (entry.schema.options as string[]) : undefined
  return Flags.string({ ...common, options })
}

/** The global flags, in the order of the table. */
export const globalFlags = Object.fromEntries(
  SETTING_ENTRIES.filter((e) => e.flag && !e.flag.oclif).map((e) => [e.flag!.name, flagOf(e)]),
) as GlobalFlags
