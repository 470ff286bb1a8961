//! Remote hosts: SSH connection pool, remote execution, file transfer.
