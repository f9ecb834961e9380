#!/usr/bin/env python3
"""Run a command against a throwaway PostgreSQL cluster, started here and removed after.

    throwaway_postgres.py -- pytest ...

The cluster lives in a temporary directory, listens on 127.0.0.1 on a free port, trusts
local connections, and is owned by an unprivileged user when run as root (PostgreSQL
refuses to run as root; Debian's package creates the `postgres` user). The command gets
DATABASE_URL pointing at it; its exit code is ours. HALLES_PG_OPTIONS adds server options
(`-c shared_buffers=2GB`).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile


def pg_bin_dir() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for candidate in reversed(candidates):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(found)
    sys.exit("PostgreSQL server binaries not found: apt-get install postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str]) -> int:
    if "--" not in argv:
        sys.exit(__doc__)
    command = argv[argv.index("--") + 1 :]
    bindir = pg_bin_dir()
    as_root = os.geteuid() == 0
    owner = pwd.getpwnam("postgres") if as_root else None
    base = tempfile.mkdtemp(prefix="halles-pg-")
    data, sockets = os.path.join(base, "data"), os.path.join(base, "sock")
    os.makedirs(sockets)
    if owner:
        os.chmod(base, 0o755)
        for path in (base, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def run_pg(*args: str, **kwargs) -> subprocess.CompletedProcess:
        cmd = list(args)
        if owner:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, **kwargs)

    port = free_port()
    log = os.path.join(base, "postgres.log")
    try:
        run_pg(
            os.path.join(bindir, "initdb"),
            "-D",
            data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {sockets} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            + os.environ.get("HALLES_PG_OPTIONS", "")
        )
        run_pg(
            os.path.join(bindir, "pg_ctl"),
            "-D",
            data,
            "-l",
            log,
            "-o",
            options,
            "-w",
            "start",
            stdout=subprocess.DEVNULL,
        )
        print(f"Throwaway PostgreSQL on 127.0.0.1:{port} ({bindir})", flush=True)
        env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/halles"}
        return subprocess.call(command, env=env)
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            run_pg(
                os.path.join(bindir, "pg_ctl"),
                "-D",
                data,
                "-m",
                "immediate",
                "stop",
                stdout=subprocess.DEVNULL,
            )
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
