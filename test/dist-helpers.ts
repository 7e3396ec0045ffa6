// Children for the distributed tests: plain node, or node under `mpirun -np N` on this machine.
import { spawn, spawnSync } from 'child_process';
import * as path from 'path';

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const DIST_DIR = path.join(__dirname, '..', 'native', 'dist');

/** The MPI module lib/kvstore.ts loads (its local build, else its prebuild), or '' when there is none. */
export function distModule(): string {
  try {
    return require('node-gyp-build').resolve(DIST_DIR);
  } catch {
    return '';
  }
}

/** Why the MPI tests cannot run here, or '' when they can. */
export function mpiMissing(): string {
  if (process.env.NDGRAD_NO_MPI === '1') return 'NDGRAD_NO_MPI=1';
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'mpirun was not found (Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin)';
  if (!distModule()) return `the MPI module is neither built nor prebuilt (${DIST_DIR}): npm run build:dist`;
  return '';
}

export function run(args: string[], env: Record<string, string> = {}, cmd = process.execPath, timeoutMs = 110000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `mpirun --allow-run-as-root --oversubscribe -np n node ...args` (loopback and shared memory only). */
export function runMpi(n: number, args: string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<Exit> {
  const mpi = ['--allow-run-as-root', '--oversubscribe', '-np', String(n), '--mca', 'btl', 'self,vader,tcp', '--mca', 'btl_tcp_if_include', 'lo'];
  // Under .ci/sanitize the sanitizer runtimes go into the ranks (node, with both of ndgrad's modules),
  // not into mpirun: Open MPI's launcher is not ours to test, and ASan there reports its own frees.
  const preload = process.env.LD_PRELOAD;
  if (preload) mpi.push('-x', `LD_PRELOAD=${preload}`);
  return run([...mpi, process.execPath, ...args], { ...env, LD_PRELOAD: '' }, 'mpirun', timeoutMs);
}
