// npm pack and publish run this after the build (prepack): it writes the embedded database's seed into dist/.
import { writeSeed } from '../dist/warehouse/embedded/embedded-seed.js'

process.stdout.write(`wrote ${await writeSeed()}\n`)
