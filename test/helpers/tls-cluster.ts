/**
 * A throwaway Postgres 15 cluster with `ssl = on` that accepts only TLS (hostssl), for the TLS tests:
 * a CA, a second unrelated CA, server certificates for `localhost` and for `127.0.0.1`, and a client
 * certificate for the role `certuser` (pg_hba `cert`), all made here with openssl. Runs the server as
 * the postgres user (initdb refuses root) on 127.0.0.1 only.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'

const BIN = '/usr/lib/postgresql/15/bin'

export interface TlsCluster {
  port: number
  /** PEM files: the CA that signed the server and client certificates, another CA, the client's pair. */
  files: { ca: string; otherCa: string; clientCert: string; clientKey: string }
  /** Serves the certificate naming only `localhost` (DNS SAN) or only `127.0.0.1` (IP SAN); waits until it does. */
  serveCertificateFor(name: 'localhost' | '127.0.0.1'): Promise<void>
  stop(): void
}

/** Runs openssl in `cwd`: `command` split on spaces (no argument in it holds one), then `rest` as they are. */
function openssl(cwd: string, command: string, ...rest: string[]): void {
  execFileSync('openssl', [...command.split(' '), ...rest], { cwd, stdio: 'pipe' })
}

function asPostgres(command: string): string {
  return execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', command], { encoding: 'utf8', stdio: 'pipe' })
}

/** A key and a certificate `name`.crt signed by `ca`, for `subject` with the given subjectAltName (if any). */
function issue(dir: string, name: string, ca: string, subject: string, san?: string): void {
  openssl(dir, `req -new -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.csr -subj`, subject)
  const ext = san ? ['-extfile', writeExt(dir, name, san)] : []
  openssl(
    dir,
    `x509 -req -in ${name}.csr -CA ${ca}.crt -CAkey ${ca}.key -CAcreateserial -days 2 -out ${name}.crt`,
    ...ext,
  )
}

function writeExt(dir: string, name: string, san: string): string {
  const file = join(dir, `${name}.ext`)
  writeFileSync(file, `subjectAltName = ${san}\n`)
  return file
}

function makeCa(dir: string, name: string): void {
  openssl(dir, `req -x509 -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.crt -days 2 -subj /CN=${name}`)
}

/** Starts the cluster on `port` (initdb, certificates, pg_hba, pg_ctl start): a few seconds. */
export async function startTlsCluster(port: number): Promise<TlsCluster> {
  const root = mkdtempSync('/tmp/crypto-etl-tls-')
  const certs = join(root, 'certs')
  const data = join(root, 'data')
  execFileSync('mkdir', ['-p', certs])
  makeCa(certs, 'ca')
  makeCa(certs, 'other-ca')
  issue(certs, 'server-localhost', 'ca', '/CN=localhost', 'DNS:localhost')
  issue(certs, 'server-ip', 'ca', '/CN=127.0.0.1', 'IP:127.0.0.1')
  issue(certs, 'client', 'ca', '/CN=certuser')
  chownSync(root, uid('postgres'), gid('postgres'))
  asPostgres(`${BIN}/initdb -D ${data} -A trust -U postgres >/dev/null`)
  const install = (name: string) => {
    copyFileSync(join(certs, `${name}.crt`), join(data, 'server.crt'))
    copyFileSync(join(certs, `${name}.key`), join(data, 'server.key'))
    for (const f of ['server.crt', 'server.key']) {
      chownSync(join(data, f), uid('postgres'), gid('postgres'))
      chmodSync(join(data, f), 0o600)
    }
  }
  install('server-localhost')
  copyFileSync(join(certs, 'ca.crt'), join(data, 'ca.crt'))
  writeFileSync(
    join(data, 'pg_hba.conf'),
    ['local all all trust', `hostssl all certuser 127.0.0.1/32 cert`, `hostssl all all 127.0.0.1/32 trust`, ''].join(
      '\n',
    ),
  )
  const conf = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${data}'`,
    'ssl = on',
    "ssl_ca_file = 'ca.crt'",
    'fsync = off',
    '',
  ]
  writeFileSync(join(data, 'postgresql.auto.conf'), conf.join('\n'))
  asPostgres(`${BIN}/pg_ctl -D ${data} -l ${data}/log -w start >/dev/null`)
  asPostgres(`psql -h ${data} -p ${port} -U postgres -qAtc 'create role certuser login'`)
  // Readable by the client (these tests may run as any user).
  execFileSync('chmod', ['-R', 'a+rX', certs])
  chmodSync(join(certs, 'client.key'), 0o600)
  let served = 'localhost'
  return {
    port,
    files: {
      ca: join(certs, 'ca.crt'),
      otherCa: join(certs, 'other-ca.crt'),
      clientCert: join(certs, 'client.crt'),
      clientKey: join(certs, 'client.key'),
    },
    async serveCertificateFor(name) {
      if (served === name) return
      install(name === 'localhost' ? 'server-localhost' : 'server-ip')
      asPostgres(`${BIN}/pg_ctl -D ${data} reload >/dev/null`)
      served = name
      // A reload is asynchronous: new connections use the new certificate once the postmaster has read it.
      await waitForCertificate(port, name)
    },
    stop() {
      try {
        asPostgres(`${BIN}/pg_ctl -D ${data} -m immediate -w stop >/dev/null`)
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    },
  }
}

async function waitForCertificate(port: number, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const subject = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        // SSLRequest: length 8, code 80877103.
        socket.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]))
        socket.once('data', () => {
          const secure = tls.connect({ socket, rejectUnauthorized: false }, () => {
            resolve(String(secure.getPeerCertificate().subject?.CN ?? ''))
            secure.destroy()
          })
          secure.on('error', () => resolve(''))
        })
      })
      socket.on('error', () => resolve(''))
    })
    if (subject === name) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`the TLS cluster on ${port} did not start serving the certificate of ${name}`)
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim())
}

function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim())
}
