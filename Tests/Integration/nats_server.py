"""Starting nats-server for the integration tests: shared by nats_queue.py and nats_cluster.py."""
import subprocess
import threading


def start_nats(arguments, log, timeout, what="nats-server"):
    """Starts nats-server with `arguments`, copying its standard error into `log`, and returns
    the process once the server logs that it is ready (exits the test otherwise)."""
    proc = subprocess.Popen(["nats-server"] + arguments, stdout=log, stderr=subprocess.PIPE)
    ready = threading.Event()

    def copy_log(stderr):
        for line in iter(stderr.readline, b""):
            log.write(line)
            log.flush()
            if b"Server is ready" in line:
                ready.set()

    threading.Thread(target=copy_log, args=(proc.stderr,), daemon=True).start()
    if not ready.wait(timeout):
        raise SystemExit(f"{what} did not say it is ready")
    return proc
