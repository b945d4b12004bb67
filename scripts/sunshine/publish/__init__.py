"""Publishing: a self-contained bundle for real servers (nginx, systemd, containers, Kubernetes)."""
