// The reference tus server that bench/upload.py measures Flipside's upload against: @tus/server
// with @tus/file-store, as its README starts one. `node server.mjs <port> <directory>`; it says
// "listening" once it accepts uploads at http://127.0.0.1:<port>/files.
import http from 'node:http'
import { FileStore } from '@tus/file-store'
import { Server } from '@tus/server'

const [port, directory] = process.argv.slice(2)
const tus = new Server({
  path: '/files',
  relativeLocation: true,
  datastore: new FileStore({ directory }),
})
http
  .createServer((req, res) => tus.handle(req, res))
  .listen(Number(port), '127.0.0.1', () => console.log('listening'))
